"""Whole studies: the score table, two models compared, the benchmark over datasets, Krasula's analysis."""
