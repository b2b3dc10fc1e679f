"""Compile a graph into a runnable model.

:func:`compile_graph` checks the graph, builds one :mod:`nncore.nn` module per node that
has parameters (named by node id, so ``state_dict`` keys look like ``"n2.weight"`` and
survive renaming), and returns a :class:`CompiledGraph`: an :class:`nncore.nn.Module`
whose ``forward(x)`` evaluates the nodes the loss depends on in topological order
(iteratively, no recursion), and whose :meth:`CompiledGraph.loss` computes the loss.
The trainer sees an ordinary model and loss function.

What ``forward`` returns, so that accuracy is the arg-max of the output:

* Cross-Entropy: the scores (logits) wired into it; if they come through a Softmax
  node, the Softmax's *input* (softmax and log are fused into log-softmax: the loss is
  never log(0), reference case R01);
* Binary Cross-Entropy with two classes: two columns ``[0, z]`` where z is the logit
  (the Sigmoid's input, fused into the "with logits" form, if a Sigmoid feeds the loss)
  or ``[1 - p, p]`` for a probability that does not come from a Sigmoid;
* MSE and Binary Cross-Entropy on values: the prediction.

``forward_with_activations(x)`` also returns every node's output (by display name, in
topological order) for the activation histograms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nncore import functional as F
from nncore import nn
from nncore.graph.catalogue import CATALOGUE
from nncore.graph.model import Graph, GraphError
from nncore.random import default_generator
from nncore.tensor import Tensor

__all__ = ["CompiledGraph", "compile_graph"]


class CompiledGraph(nn.Module):
    """A graph ready to run. Build it with :func:`compile_graph`.

    Attributes:
        node_names: node id -> display name, for every evaluated node.
        order: the ids of the evaluated nodes, in topological order.
        task: ``"classification"`` or ``"regression"`` (the Input node's task).
        num_classes: the number of classes (0 for regression).
        loss_type: the loss node's type id.
        features: the number of input features.
        parameter_nodes: parameter name (``"n2.weight"``) -> node id.
    """

    def __init__(self, graph: Graph, generator: np.random.Generator | None = None,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        analysis = graph.analysis()
        if analysis.problems:
            node_id, message = analysis.problems[0]
            raise GraphError(f"the network cannot be trained yet: {message}", node_id)
        rng = default_generator() if generator is None else generator
        input_node = next(n for n in graph.nodes if n.type_id == "input")
        loss_node = next(n for n in graph.nodes if n.type.outputs[0].kind == "loss")
        needed = self._ancestors(graph, loss_node.id)
        self.order = [nid for nid in analysis.order if nid in needed and nid != loss_node.id]
        self.node_names = {nid: graph.node(nid).name for nid in self.order}
        self._types = {nid: graph.node(nid).type_id for nid in self.order}
        self._params = {nid: dict(graph.node(nid).params) for nid in self.order}
        self._wires: dict[str, dict[str, list[tuple[str, str]]]] = {}
        for nid in [*self.order, loss_node.id]:
            ports: dict[str, list[tuple[str, str]]] = {}
            for e in graph.incoming(nid):
                ports.setdefault(e.dst_port, []).append((e.src, e.src_port))
            self._wires[nid] = ports
        self.input_id, self.loss_id = input_node.id, loss_node.id
        self.loss_name = loss_node.name
        self.loss_type = loss_node.type_id
        self.loss_params = dict(loss_node.params)
        self.task = input_node.params["task"]
        self.num_classes = input_node.params["classes"] if self.task == "classification" else 0
        self.features = input_node.params["features"]
        self.parameter_nodes: dict[str, str] = {}
        for nid in self.order:
            shapes = {port: analysis.input_shapes.get((nid, port), [])
                      for port in self._wires[nid]}
            module = CATALOGUE[self._types[nid]].build(self._params[nid], shapes, rng)
            if module is not None:
                if dtype is not None:
                    module.to(dtype)
                # Registered by node id without becoming an attribute, so that no id
                # can clash with a Module attribute; state_dict keys are "n2.weight".
                self._modules[nid] = module
                for pname, _ in module.named_parameters():
                    self.parameter_nodes[f"{nid}.{pname}"] = nid
        self._prediction, self._fused = self._prediction_source(graph, loss_node.id)

    @staticmethod
    def _ancestors(graph: Graph, node_id: str) -> set[str]:
        seen, stack = {node_id}, [node_id]
        while stack:
            for e in graph.incoming(stack.pop()):
                if e.src not in seen:
                    seen.add(e.src)
                    stack.append(e.src)
        return seen

    def _prediction_source(self, graph: Graph, loss_id: str) -> tuple[tuple[str, str], str]:
        """The (node, port) whose value the loss uses, and the fusion applied:
        ``"softmax"`` / ``"sigmoid"`` when the loss reads the input of that node."""
        src, port = self._wires[loss_id]["input"][0]
        kind = self._types.get(src)
        if (self.loss_type, kind) in (("cross_entropy", "softmax"), ("bce", "sigmoid")):
            return self._wires[src]["input"][0], kind
        return (src, port), ""

    # ------------------------------------------------------------------ running
    def _evaluate(self, x: Tensor, record: bool) -> tuple[Tensor, dict[str, np.ndarray]]:
        values: dict[tuple[str, str], Tensor] = {}
        activations: dict[str, np.ndarray] = {}
        for nid in self.order:
            kind = self._types[nid]
            if kind == "input":
                out = {"features": x}
            else:
                inputs = {port: [values[w] for w in wires]
                          for port, wires in self._wires[nid].items()}
                module = self._modules.get(nid)
                out = CATALOGUE[kind].run(module, self._params[nid], inputs)
            for port, value in out.items():
                values[(nid, port)] = value
            if record:
                first = next(iter(out.values()))
                activations[self.node_names[nid]] = first.data
        return self._scores(values[self._prediction]), activations

    def _scores(self, pred: Tensor) -> Tensor:
        if self.loss_type == "bce" and self.task == "classification":
            if self._fused == "sigmoid":  # logits z -> scores [0, z]
                return F.concatenate([Tensor(np.zeros_like(pred.data)), pred], axis=1)
            return F.concatenate([1.0 - pred, pred], axis=1)  # probabilities [1-p, p]
        return pred

    def forward(self, x: Any) -> Tensor:
        """The output used for the loss and the metrics (see the module docstring).

        Shapes: x ``(N, features)``.

        Raises:
            ValueError: if x does not have ``features`` columns.
        """
        x = self._check(x)
        return self._evaluate(x, False)[0]

    def forward_with_activations(self, x: Any) -> tuple[Tensor, dict[str, np.ndarray]]:
        """``forward`` plus every evaluated node's output by display name, in
        topological order (the Input's is the features)."""
        x = self._check(x)
        return self._evaluate(x, True)

    def _check(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 2 or x.shape[1] != self.features:
            raise ValueError(f"the Input node expects (N, {self.features}) features, got "
                             f"{x.shape}")
        return x

    def predictions(self, output: np.ndarray) -> np.ndarray:
        """What metrics compare with the targets, from ``forward``'s output: the output
        itself, except for a Sigmoid fused into Binary Cross-Entropy on values, whose
        logits become probabilities (the Trainer calls this)."""
        if self.loss_type == "bce" and self._fused == "sigmoid" and self.task != "classification":
            return F.sigmoid(Tensor(output)).data
        return output

    def loss(self, output: Tensor, target: Any) -> Tensor:
        """The loss node's value for ``forward``'s output and the dataset's targets
        (class indices ``(N,)`` or values ``(N, k)``).

        Raises:
            ValueError: for Binary Cross-Entropy targets outside [0, 1] (the loss has no
                minimum for them), naming the first; GraphError (naming the loss node) for
                Binary Cross-Entropy inputs outside [0, 1] (no Sigmoid before it).
        """
        kind = self.loss_type
        if kind == "cross_entropy":
            return F.cross_entropy(output, target, self.loss_params["label_smoothing"])
        if kind == "mse":
            return F.mse_loss(output, np.asarray(target, dtype=output.dtype))
        y = np.asarray(target, dtype=output.dtype)
        if y.size and (y.min() < 0 or y.max() > 1):
            bad = float(y.flat[int(np.flatnonzero((y < 0) | (y > 1))[0])])
            raise ValueError(f"{self.loss_name}: Binary Cross-Entropy needs targets in "
                             f"[0, 1] (probabilities or 0/1 labels), got {bad:g}; use MSE "
                             "for other values")
        if self.task == "classification":  # two columns of scores, class index targets
            y = y.reshape(-1, 1)
            output = output[:, 1:]
        if self._fused == "sigmoid":
            return F.binary_cross_entropy_with_logits(output, y)
        p = output.data
        if p.size and not (np.nanmin(p) >= 0 and np.nanmax(p) <= 1):
            bad = float(p.flat[int(np.flatnonzero((p < 0) | (p > 1))[0])])
            raise GraphError(f"{self.loss_name}: its input must be probabilities in [0, 1], "
                             f"got {bad:g}: put a Sigmoid before it (or use Cross-Entropy "
                             "on the raw scores)", self.loss_id)
        return F.binary_cross_entropy(output, y)

    def named_node_parameters(self) -> dict[str, list[tuple[str, Any]]]:
        """Display name of each node with parameters -> its (parameter name, Parameter)
        pairs (``weight``, ``bias``), for the GUI."""
        result: dict[str, list[tuple[str, Any]]] = {}
        for name, p in self.named_parameters():
            nid, pname = name.split(".", 1)
            result.setdefault(self.node_names[nid], []).append((pname, p))
        return result

    def describe_parameter(self, name: str) -> str:
        """A parameter's name for people: ``"n6.weight"`` -> ``"Dense 2.weight"``."""
        nid, _, rest = name.partition(".")
        return f"{self.node_names.get(nid, nid)}.{rest}"

    def extra_repr(self) -> str:
        return " -> ".join(self.node_names[n] for n in self.order)


def compile_graph(graph: Graph, generator: np.random.Generator | None = None,
                  dtype: Any = np.float32) -> CompiledGraph:
    """Build the runnable model of ``graph``.

    Args:
        generator: random source for the weights and dropout masks (default: the
            engine's, seeded by :func:`nncore.manual_seed`).
        dtype: parameter dtype (float32, the training default).

    Raises:
        GraphError: for the first problem that stops training (an unconnected port, a
            shape error, no Input or loss...), naming the node.
    """
    return CompiledGraph(graph, generator, dtype)
