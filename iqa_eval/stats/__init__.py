"""Numerics on arrays: the metrics, their inference (CIs, paired tests), mappings, and their jitted kernels."""
