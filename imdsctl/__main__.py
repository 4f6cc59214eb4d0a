from imdsctl.fastpath import main

main()
