"""The benchmark MLP in nncore, the project's engine, written as its users would.

``nn.Sequential`` of ``Linear``/``BatchNorm1d``/``ReLU``, ``optim.Adam``,
``F.cross_entropy``; the step is ``forward, loss, zero_grad, backward, step``, the
batch wrapped in a ``Tensor`` each step.
"""

from __future__ import annotations

import numpy as np

from nncore import Tensor, nn, optim
from nncore import functional as F

from .mlp import ADAM_EPS, BETAS, LR


def build_model(dims):
    layers = []
    for i in range(len(dims) - 2):
        layers += [nn.Linear(dims[i], dims[i + 1]), nn.BatchNorm1d(dims[i + 1]), nn.ReLU()]
    layers.append(nn.Linear(dims[-2], dims[-1]))
    return nn.Sequential(*layers)


class NNCoreMLP:
    """Same interface as :class:`bench.impl_numpy.NumpyMLP`."""

    name = "nncore"

    def __init__(self, params, dims, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        self.dims = tuple(dims)
        self.model = build_model(dims).to(self.dtype)
        # Same names as PyTorch's state_dict; strict: every parameter and buffer is set.
        self.model.load_state_dict({k: np.asarray(v, dtype=self.dtype) for k, v in params.items()},
                                   strict=True)
        self.model.train()
        self.opt = optim.Adam(self.model.parameters(), lr=LR, betas=BETAS, eps=ADAM_EPS)

    def prepare(self, batches):
        return batches

    def step(self, x, y) -> float:
        logits = self.model(Tensor(x))
        loss = F.cross_entropy(logits, y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return float(loss.data)

    def state(self) -> dict[str, np.ndarray]:
        return dict(self.model.state_dict())
