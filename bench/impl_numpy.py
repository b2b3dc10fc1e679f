"""Hand-written NumPy forward/backward of the benchmark MLP: the floor for a NumPy engine.

Written as a competent person would by hand, with one array per parameter: matmuls into
preallocated buffers (``out=``), BatchNorm normalizing in place, the standard fused
BatchNorm backward, a fused numerically stable log-softmax cross-entropy, no input
gradient for the first layer, and Adam updating parameters in place with preallocated
state. It does all the work a framework does in a training step (including the bias
gradients of Linear layers that feed a BatchNorm and the running statistics update),
so that the comparison is of the same work.

Conventions follow PyTorch: BatchNorm normalizes with the biased batch variance and
updates ``running_var`` with the unbiased one; Adam is ``torch.optim.Adam``'s
single-tensor form, ``p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)``.
"""

from __future__ import annotations

import math

import numpy as np

from .mlp import ADAM_EPS, BETAS, BN_EPS, BN_MOMENTUM, LR, bn_index, linear_index


class NumpyMLP:
    """The benchmark MLP with a hand-written training step.

    ``params``: initial weights keyed as a PyTorch ``state_dict`` (see :mod:`bench.mlp`);
    copied and cast to ``dtype``. ``step(x, y)`` does one Adam step on batch ``x``
    (``(N, dims[0])``, ``dtype``) with int64 labels ``y`` and returns the loss (float).
    """

    name = "numpy"

    def __init__(self, params, dims, dtype=np.float32, lr=LR, betas=BETAS, eps=ADAM_EPS):
        self.dims = tuple(dims)
        self.dtype = np.dtype(dtype)
        self.n_lin = len(dims) - 1
        self.n_hidden = self.n_lin - 1
        cast = lambda a: np.array(a, dtype=self.dtype, order="C")  # noqa: E731 (copies)
        self.W = [cast(params[f"{linear_index(i)}.weight"]) for i in range(self.n_lin)]
        self.b = [cast(params[f"{linear_index(i)}.bias"]) for i in range(self.n_lin)]
        self.gamma = [cast(params[f"{bn_index(i)}.weight"]) for i in range(self.n_hidden)]
        self.beta = [cast(params[f"{bn_index(i)}.bias"]) for i in range(self.n_hidden)]
        self.running_mean = [cast(params[f"{bn_index(i)}.running_mean"])
                             for i in range(self.n_hidden)]
        self.running_var = [cast(params[f"{bn_index(i)}.running_var"])
                            for i in range(self.n_hidden)]
        self.gW = [np.zeros_like(w) for w in self.W]
        self.gb = [np.zeros_like(b) for b in self.b]
        self.ggamma = [np.zeros_like(g) for g in self.gamma]
        self.gbeta = [np.zeros_like(b) for b in self.beta]

        # Adam: parameters with their gradients, state and a scratch array each.
        self.params, self.grads = [], []
        for i in range(self.n_lin):
            self.params += [self.W[i], self.b[i]]
            self.grads += [self.gW[i], self.gb[i]]
            if i < self.n_hidden:
                self.params += [self.gamma[i], self.beta[i]]
                self.grads += [self.ggamma[i], self.gbeta[i]]
        self.exp_avg = [np.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [np.zeros_like(p) for p in self.params]
        self.scratch = [np.empty_like(p) for p in self.params]
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.t = 0
        self._n = None  # batch size the activation buffers are allocated for

    # -- buffers ----------------------------------------------------------------------
    def _alloc(self, n):
        dt, d = self.dtype, self.dims
        self.xhat = [np.empty((n, d[i + 1]), dt) for i in range(self.n_hidden)]  # z, then x-hat
        self.act = [np.empty((n, d[i + 1]), dt) for i in range(self.n_hidden)]  # ReLU output
        self.dact = [np.empty((n, d[i + 1]), dt) for i in range(self.n_hidden)]  # its gradient
        self.tmp = [np.empty((n, d[i + 1]), dt) for i in range(self.n_hidden)]
        self.invstd = [None] * self.n_hidden
        self.logits = np.empty((n, d[-1]), dt)
        self.probs = np.empty((n, d[-1]), dt)
        self.rows = np.arange(n)
        self._n = n

    # -- one training step ------------------------------------------------------------
    def step(self, x, y) -> float:
        n = x.shape[0]
        if n != self._n:
            self._alloc(n)
        m = BN_MOMENTUM

        # Forward: [Linear -> BatchNorm (batch statistics) -> ReLU] * n_hidden -> Linear.
        h = x
        for i in range(self.n_hidden):
            z = self.xhat[i]
            np.matmul(h, self.W[i].T, out=z)
            z += self.b[i]
            mean = z.mean(axis=0)
            z -= mean
            sq = self.tmp[i]
            np.multiply(z, z, out=sq)
            var = sq.mean(axis=0)
            invstd = 1.0 / np.sqrt(var + BN_EPS)
            z *= invstd  # z is now x-hat
            a = self.act[i]
            np.multiply(z, self.gamma[i], out=a)
            a += self.beta[i]
            np.maximum(a, 0, out=a)
            self.invstd[i] = invstd
            # Running statistics (PyTorch: unbiased variance here).
            rm, rv = self.running_mean[i], self.running_var[i]
            rm *= 1 - m
            rm += m * mean
            rv *= 1 - m
            rv += (m * n / (n - 1)) * var
            h = a
        logits = self.logits
        np.matmul(h, self.W[-1].T, out=logits)
        logits += self.b[-1]

        # Cross-entropy, mean reduction, via a stable log-softmax; its gradient
        # (softmax - onehot) / n goes into probs.
        logits -= logits.max(axis=1, keepdims=True)
        p = self.probs
        np.exp(logits, out=p)
        s = p.sum(axis=1)
        loss = float(np.log(s).mean() - logits[self.rows, y].mean())
        p /= s[:, None]
        p[self.rows, y] -= 1
        p *= 1.0 / n

        # Backward.
        g = p
        np.matmul(g.T, h, out=self.gW[-1])
        np.sum(g, axis=0, out=self.gb[-1])
        np.matmul(g, self.W[-1], out=self.dact[-1])
        for i in reversed(range(self.n_hidden)):
            g = self.dact[i]
            np.multiply(g, self.act[i] > 0, out=g)  # ReLU
            # BatchNorm: dz = gamma*invstd/n * (n*g - sum(g) - xhat*sum(g*xhat)).
            xhat, tmp = self.xhat[i], self.tmp[i]
            dbeta = np.sum(g, axis=0, out=self.gbeta[i])
            np.multiply(g, xhat, out=tmp)
            dgamma = np.sum(tmp, axis=0, out=self.ggamma[i])
            np.multiply(xhat, dgamma, out=tmp)
            g *= n
            g -= dbeta
            g -= tmp
            g *= self.gamma[i] * (self.invstd[i] / n)
            # Linear.
            h_in = x if i == 0 else self.act[i - 1]
            np.matmul(g.T, h_in, out=self.gW[i])
            np.sum(g, axis=0, out=self.gb[i])
            if i > 0:  # no input gradient for the first layer
                np.matmul(g, self.W[i], out=self.dact[i - 1])

        self._adam()
        return loss

    def _adam(self):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.lr / (1 - b1**self.t)
        bc2_sqrt = math.sqrt(1 - b2**self.t)
        for p, g, mt, vt, tmp in zip(self.params, self.grads, self.exp_avg, self.exp_avg_sq,
                                     self.scratch):
            mt *= b1
            np.multiply(g, 1 - b1, out=tmp)
            mt += tmp
            vt *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            vt += tmp
            np.sqrt(vt, out=tmp)
            tmp /= bc2_sqrt
            tmp += self.eps
            np.divide(mt, tmp, out=tmp)
            tmp *= step_size
            p -= tmp

    # -- inspection -------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """Copies of the parameters and buffers, keyed as a PyTorch ``state_dict``."""
        out = {}
        for i in range(self.n_lin):
            out[f"{linear_index(i)}.weight"] = self.W[i].copy()
            out[f"{linear_index(i)}.bias"] = self.b[i].copy()
            if i < self.n_hidden:
                k = bn_index(i)
                out[f"{k}.weight"] = self.gamma[i].copy()
                out[f"{k}.bias"] = self.beta[i].copy()
                out[f"{k}.running_mean"] = self.running_mean[i].copy()
                out[f"{k}.running_var"] = self.running_var[i].copy()
        return out

    def prepare(self, batches):
        return batches
