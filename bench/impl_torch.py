"""The benchmark MLP in PyTorch (CPU), written the ordinary way.

``torch.nn.Sequential`` of ``Linear``/``BatchNorm1d``/``ReLU``, ``torch.optim.Adam`` with
its defaults, ``F.cross_entropy``; the step is ``zero_grad, forward, loss, backward,
step``. Importing this module imports torch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .mlp import ADAM_EPS, BETAS, LR


def build_model(dims):
    layers = []
    for i in range(len(dims) - 2):
        layers += [nn.Linear(dims[i], dims[i + 1]), nn.BatchNorm1d(dims[i + 1]), nn.ReLU()]
    layers.append(nn.Linear(dims[-2], dims[-1]))
    return nn.Sequential(*layers)


_TORCH_DTYPE = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


class TorchMLP:
    """Same interface as :class:`bench.impl_numpy.NumpyMLP`; ``step`` takes the tensors
    that :meth:`prepare` made from NumPy batches (or NumPy arrays, converted per step)."""

    name = "torch"

    def __init__(self, params, dims, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        tdtype = _TORCH_DTYPE[self.dtype]
        self.model = build_model(dims).to(tdtype)
        state = {k: torch.from_numpy(np.array(v, dtype=self.dtype)) for k, v in params.items()}
        # num_batches_tracked is not in our parameter files; keep the model's own (0).
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
            raise RuntimeError(f"state mismatch: missing {missing}, unexpected {unexpected}")
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR, betas=BETAS, eps=ADAM_EPS)
        self.loss_fn = nn.functional.cross_entropy

    def prepare(self, batches):
        return [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]

    def step(self, x, y) -> float:
        if isinstance(x, np.ndarray):
            x, y = torch.from_numpy(x), torch.from_numpy(y)
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def state(self) -> dict[str, np.ndarray]:
        return {
            k: v.detach().numpy().copy()
            for k, v in self.model.state_dict().items()
            if not k.endswith("num_batches_tracked")
        }
