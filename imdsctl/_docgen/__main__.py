import sys

from imdsctl._docgen import main

sys.exit(main())
