"""Training: the worker thread, the controller, the training panel, the run records."""
