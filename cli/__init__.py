"""The ``iqa-eval`` command line (click): thin commands over the library."""
