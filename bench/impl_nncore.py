"""The benchmark MLP in nncore, the project's engine, written as its users would.

``nn.Sequential`` of ``Linear``/``BatchNorm1d``/``ReLU``, ``optim.Adam``,
``F.cross_entropy``; the step is ``forward, loss, zero_grad, backward, step``, the
batch wrapped in a ``Tensor`` each step.
"""

from __future__ import annotations

import numpy as np

from nncore import Tensor, nn, optim
from nncore import functional as F

from .mlp import ADAM_EPS, BETAS, LR, bn_index, linear_index


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
        self.model = build_model(dims)
        self.model.to(self.dtype)
        cast = lambda a: np.array(a, dtype=self.dtype, order="C")  # noqa: E731 (copies)
        n_lin = len(dims) - 1
        for i in range(n_lin):
            lin = self.model[linear_index(i)]
            lin.weight.data = cast(params[f"{linear_index(i)}.weight"])
            lin.bias.data = cast(params[f"{linear_index(i)}.bias"])
            if i < n_lin - 1:
                k = bn_index(i)
                bn = self.model[k]
                bn.weight.data = cast(params[f"{k}.weight"])
                bn.bias.data = cast(params[f"{k}.bias"])
                bn.running_mean = cast(params[f"{k}.running_mean"])
                bn.running_var = cast(params[f"{k}.running_var"])
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
        out = {}
        n_lin = len(self.dims) - 1
        for i in range(n_lin):
            lin = self.model[linear_index(i)]
            out[f"{linear_index(i)}.weight"] = np.array(lin.weight.data)
            out[f"{linear_index(i)}.bias"] = np.array(lin.bias.data)
            if i < n_lin - 1:
                k = bn_index(i)
                bn = self.model[k]
                out[f"{k}.weight"] = np.array(bn.weight.data)
                out[f"{k}.bias"] = np.array(bn.bias.data)
                out[f"{k}.running_mean"] = np.array(_arr(bn.running_mean))
                out[f"{k}.running_var"] = np.array(_arr(bn.running_var))
        return out


def _arr(buf):
    """A buffer may be stored as an ndarray or as a Tensor."""
    return buf.data if hasattr(buf, "data") and not isinstance(buf, np.ndarray) else buf
