"""NN Canvas engine: reverse-mode automatic differentiation on NumPy (no Qt)."""
