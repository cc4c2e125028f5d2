"""Training: losses that optimise what the evaluator measures (torch) and their whole-set soft-rank proxy."""
