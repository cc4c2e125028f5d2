"""Runtime services under every layer: atomic outputs, memory checks, progress, optional imports, input checks."""
