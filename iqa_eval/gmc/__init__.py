"""Granularity-Modulated Correlation (GMC): where on the quality scale, and for which size of
quality differences, a model ranks images well.

The public API is re-exported here; see ``docs/gmc.md`` and ``../shared/docs/gmc-reference.md``.
"""
from .api import (GMCResult, correlation_surfaces, gmc_inputs, gmc_points, gmc_score,
                  gmc_surface)
from .sampling import latin_hypercube, read_sample_file, regular_grid
from .weights import beta_std, distribution_weights, read_std_file, read_weights_file

__all__ = [
    "GMCResult", "correlation_surfaces", "gmc_inputs", "gmc_points", "gmc_score", "gmc_surface",
    "latin_hypercube", "read_sample_file", "regular_grid",
    "beta_std", "distribution_weights", "read_std_file", "read_weights_file",
]
