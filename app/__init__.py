"""NN Canvas Qt application (views on top of nncore)."""
