"""The `fanzha` command line: one module per command group, composing the whole product.

Imported by nothing but `bot/__main__.py` and the console script.
"""
