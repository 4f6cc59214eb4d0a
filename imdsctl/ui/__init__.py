"""People's output: the renderer of every format, tables, and the terminal (the only home of
rich)."""
