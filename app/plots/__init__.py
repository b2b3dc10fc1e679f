"""Live views of training (pyqtgraph): loss, gradient norms, histograms, decision boundary,
confusion matrix, runs."""
