"""The data: the Dataset, reading and joining tables, and the simulated study."""
