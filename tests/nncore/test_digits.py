"""A two-layer MLP with BatchNorm learns scikit-learn's handwritten digits (real data).

1797 8x8 images, 10 classes, shipped inside scikit-learn. With a fixed seed the
validation accuracy must reach at least 95%.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from nncore import nn, optim
from nncore import functional as F
from nncore.data import load_builtin, standardize
from nncore.training import Trainer


def test_mlp_with_batchnorm_reaches_95_percent_on_digits():
    data = load_builtin("digits")
    assert data.X.shape == (1797, 64) and data.num_classes == 10
    X_tr, X_val, y_tr, y_val = train_test_split(data.X, data.y, test_size=0.2, stratify=data.y,
                                                random_state=0)
    X_tr, X_val = standardize(X_tr, X_val)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(64, 128, generator=rng), nn.BatchNorm1d(128), nn.ReLU(),
                          nn.Linear(128, 10, generator=rng))
    trainer = Trainer(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-3),
                      batch_size=32, generator=rng)
    before = trainer.evaluate(X_val, y_val)["accuracy"]
    history = trainer.fit(X_tr, y_tr, epochs=15, validation=(X_val, y_val))
    final = trainer.evaluate(X_val, y_val)
    assert before < 0.3  # it really learned
    assert final["accuracy"] >= 0.95, history[-1]
    assert history[-1]["loss"] < history[0]["loss"] / 3
    assert all(p.dtype == np.float32 for p in model.parameters())
