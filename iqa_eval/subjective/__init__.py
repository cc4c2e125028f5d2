"""From raw ratings to MOS (placeholder, filled below)."""
