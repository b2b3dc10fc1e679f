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
* MSE and Binary Cross-Entropy on values: the prediction;
* an Objective (a loss written with operator nodes): its ``prediction`` input (a
  probability ``(N, 1)`` becomes ``[1 - p, p]`` for two classes). The nodes that use
  the dataset's labels (through One-hot or Targets) are evaluated by
  :meth:`CompiledGraph.loss`, on the values ``forward`` computed for the same batch.

Each node type says how: the loss type's ``fuses``, ``scores``, ``predictions`` and
``loss`` (:class:`~nncore.graph.types.LossType`), every other node's ``build`` and
``forward``; nothing here asks for a type id.

``forward_with_activations(x)`` also returns every node's output (by display name, in
topological order) for the activation histograms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nncore import nn
from nncore.graph.model import Graph, GraphError
from nncore.graph.shapes import DataShape
from nncore.graph.types import TARGET, LossType, NodeType, NodeValueError
from nncore.random import default_generator
from nncore.tensor import Tensor

__all__ = ["CompiledGraph", "compile_graph"]


class CompiledGraph(nn.Module):
    """A graph ready to run. Build it with :func:`compile_graph`.

    Attributes:
        data: the dataset shape it was built for.
        node_names: node id -> display name, for every evaluated node.
        node_types: node id -> its :class:`~nncore.graph.types.NodeType` (the live views
            ask it for a figure of its units' health).
        order: the ids of the evaluated nodes, in topological order.
        task: ``"classification"`` or ``"regression"`` (the data's task).
        num_classes: the number of classes (0 for regression).
        features: the shape of one sample, e.g. ``(64,)``.
        loss_node_type: the loss node's type.
        parameter_nodes: parameter name (``"n2.weight"``) -> node id.
    """

    def __init__(self, graph: Graph, data: DataShape, generator: np.random.Generator | None = None,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        analysis = graph.analysis(data)
        if analysis.problems:
            node_id, message = analysis.problems[0]
            raise GraphError(f"the network cannot be trained yet: {message}", node_id)
        rng = default_generator() if generator is None else generator
        input_node = next(n for n in graph.nodes if n.type.reads_data)
        loss_node = next(n for n in graph.nodes if n.type.is_loss)
        needed = self._ancestors(graph, loss_node.id)
        uses_labels = graph.labels_dependent()
        self.data = data
        evaluated = [nid for nid in analysis.order if nid in needed and nid != loss_node.id]
        self.order = [nid for nid in evaluated if nid not in uses_labels]
        #: the nodes that use the labels (an Objective's loss), evaluated by loss()
        self.loss_order = [nid for nid in evaluated if nid in uses_labels]
        self.node_names = {nid: graph.node(nid).name for nid in evaluated}
        self.node_types: dict[str, NodeType] = {nid: graph.node(nid).type for nid in evaluated}
        self._params = {nid: dict(graph.node(nid).params) for nid in evaluated}
        self._wires: dict[str, dict[str, list[tuple[str, str]]]] = {}
        for nid in [*evaluated, loss_node.id]:
            ports: dict[str, list[tuple[str, str]]] = {}
            for e in graph.incoming(nid):
                ports.setdefault(e.dst_port, []).append((e.src, e.src_port))
            self._wires[nid] = ports
        self.input_id, self.loss_id = input_node.id, loss_node.id
        self.loss_name = loss_node.name
        self.loss_node_type: LossType = loss_node.type  # type: ignore[assignment]
        self.loss_params = dict(loss_node.params)
        self.task = data.task
        self.num_classes = data.classes if data.task == "classification" else 0
        self.features = data.features
        self.labels_port = next(p.name for p in input_node.type.outputs if p.kind == TARGET)
        self._values: dict[tuple[str, str], Tensor] = {}
        self.parameter_nodes: dict[str, str] = {}
        for nid in evaluated:
            shapes = {port: analysis.input_shapes.get((nid, port), [])
                      for port in self._wires[nid]}
            module = self.node_types[nid].build(self._params[nid], shapes, rng)
            if module is not None:
                if dtype is not None:
                    module.to(dtype)
                # Registered by node id without becoming an attribute, so that no id
                # can clash with a Module attribute; state_dict keys are "n2.weight".
                self._modules[nid] = module
                for pname, _ in module.named_parameters():
                    self.parameter_nodes[f"{nid}.{pname}"] = nid
        self._prediction, self._fused = self._prediction_source(loss_node.id)

    @staticmethod
    def _ancestors(graph: Graph, node_id: str) -> set[str]:
        seen, stack = {node_id}, [node_id]
        while stack:
            for e in graph.incoming(stack.pop()):
                if e.src not in seen:
                    seen.add(e.src)
                    stack.append(e.src)
        return seen

    def _prediction_source(self, loss_id: str) -> tuple[tuple[str, str], bool]:
        """The (node, port) whose value the loss uses, and whether the node before the
        loss is fused into it (the loss then reads that node's input)."""
        src, port = self._wires[loss_id][self.loss_node_type.prediction_port][0]
        before = self.node_types.get(src)
        if before is not None and before.type_id in self.loss_node_type.fuses:
            return self._wires[src]["input"][0], True
        return (src, port), False

    # ------------------------------------------------------------------ running
    def _run(self, order: list[str], x: Tensor | None, values: dict[tuple[str, str], Tensor],
             activations: dict[str, np.ndarray] | None) -> None:
        """Evaluate the nodes of ``order`` into ``values`` (by (node, port))."""
        for nid in order:
            ntype = self.node_types[nid]
            if ntype.reads_data:
                out = ntype.feed(x)
            else:
                inputs = {port: [values[w] for w in wires]
                          for port, wires in self._wires[nid].items()}
                try:
                    out = ntype.forward(self._modules.get(nid), self._params[nid], inputs)
                except GraphError:
                    raise
                except ValueError as e:  # name and outline the node (e.g. BatchNorm, batch of 1)
                    raise GraphError(f"{self.node_names[nid]}: {e}", nid) from None
            for port, value in out.items():
                values[(nid, port)] = value
            if activations is not None:
                first = next(iter(out.values()))
                activations[self.node_names[nid]] = first.data

    def _evaluate(self, x: Tensor, record: bool) -> tuple[Tensor, dict[str, np.ndarray]]:
        values: dict[tuple[str, str], Tensor] = {}
        activations: dict[str, np.ndarray] = {}
        self._run(self.order, x, values, activations if record else None)
        if self.loss_node_type.in_graph:
            self._values = values  # loss() goes on from here for this batch
        scores = self.loss_node_type.scores(values[self._prediction], self._fused, self.task)
        return scores, activations

    def forward(self, x: Any) -> Tensor:
        """The output used for the loss and the metrics (see the module docstring).

        Shapes: x ``(N, *features)``.

        Raises:
            ValueError: if a sample of x is not of shape ``features``; GraphError
                (a ValueError, with ``node_id``) when a node refuses its input, e.g. a
                BatchNorm in training given one sample: "BatchNorm 1: batch norm needs
                more than one sample ...".
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
        if x.ndim != 1 + len(self.features) or tuple(x.shape[1:]) != self.features:
            want = ", ".join(map(str, self.features))
            raise ValueError(f"the Input node expects (N, {want}) features, got {x.shape}")
        return x

    def too_small_batch(self, size: int) -> str | None:
        """The id of the first evaluated node that cannot train on minibatches of
        ``size`` samples (``size`` below its type's ``min_batch``: BatchNorm needs 2), or
        None."""
        return next((nid for nid in (*self.order, *self.loss_order)
                     if size < self.node_types[nid].min_batch), None)

    def predictions(self, output: np.ndarray) -> np.ndarray:
        """What metrics compare with the targets, from ``forward``'s output: the output
        itself, except for a Sigmoid fused into Binary Cross-Entropy on values, whose
        logits become probabilities (the Trainer calls this)."""
        return self.loss_node_type.predictions(output, self._fused, self.task)

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        """A classifier's class probabilities ``(N, classes)`` (float64) from
        ``forward``'s output (:meth:`~nncore.graph.types.base.LossType.probabilities`:
        the softmax of the logits, or a Binary Cross-Entropy's ``[1 - p, p]``)."""
        return self.loss_node_type.probabilities(output, self._fused)

    def loss(self, output: Tensor, target: Any) -> Tensor:
        """The loss node's value for ``forward``'s output and the dataset's targets
        (class indices ``(N,)`` or values ``(N, k)``).

        Raises:
            ValueError: for targets the loss cannot use (e.g. Binary Cross-Entropy
                targets outside [0, 1]), naming the loss node and the first bad value;
                GraphError (naming the loss node) for inputs it cannot use (Binary
                Cross-Entropy inputs outside [0, 1]: no Sigmoid before it).
        """
        if self.loss_node_type.in_graph:
            return self._graph_loss(target)
        try:
            return self.loss_node_type.loss(output, target, self.loss_params, self._fused,
                                            self.task)
        except NodeValueError as e:
            raise GraphError(f"{self.loss_name}: {e}", self.loss_id) from None
        except ValueError as e:
            raise ValueError(f"{self.loss_name}: {e}") from None

    def _graph_loss(self, target: Any, values: dict[tuple[str, str], Tensor] | None = None
                    ) -> Tensor:
        """An Objective's loss: the nodes that use the labels, evaluated on the values
        of the last ``forward`` (the same batch) and the targets; into ``values`` when
        given (:meth:`trace`), else into a copy of the last forward's."""
        if values is None:
            if not self._values:
                raise RuntimeError("loss() needs a forward() of the same batch first")
            values = dict(self._values)
        values[(self.input_id, self.labels_port)] = Tensor(np.asarray(target))
        self._run(self.loss_order, None, values, None)
        result = values[self._wires[self.loss_id][self.loss_node_type.inputs[0].name][0]]
        if result.ndim != 0:
            raise GraphError(f"{self.loss_name}: its scalar input has shape {result.shape}",
                             self.loss_id)
        return result

    def trace(self, x: Any, target: Any) -> tuple[dict[tuple[str, str], Tensor], Tensor, Tensor]:
        """One batch through the network, keeping every wire: the same operations in
        the same order as ``loss(forward(x), target)`` (what the Trainer computes), for
        the step-through (:mod:`nncore.stepthrough`).

        Shapes: x ``(N, *features)``; target as :meth:`loss`.

        Returns:
            ``(values, output, loss)``: every evaluated output by ``(node id, port)``
            (the Input's labels as a Tensor of the targets, the loss node's output port
            holding the loss), ``forward``'s output and the 0-d loss.

        Raises:
            as :meth:`forward` and :meth:`loss`.
        """
        x = self._check(x)
        values: dict[tuple[str, str], Tensor] = {}
        self._run(self.order, x, values, None)
        output = self.loss_node_type.scores(values[self._prediction], self._fused, self.task)
        if self.loss_node_type.in_graph:
            loss = self._graph_loss(target, values)
        else:
            loss = self.loss(output, target)
            values[(self.input_id, self.labels_port)] = Tensor(np.asarray(target))
        values[(self.loss_id, self.loss_node_type.outputs[0].name)] = loss
        return values, output, loss

    @property
    def prediction_wire(self) -> tuple[tuple[str, str], bool]:
        """The ``(node id, port)`` whose value the loss reads, and whether the node
        wired into the loss is fused into it (the loss then reads that node's input:
        a Softmax into Cross-Entropy, a Sigmoid into Binary Cross-Entropy)."""
        return self._prediction, self._fused

    def wires_into(self, node_id: str) -> dict[str, list[tuple[str, str]]]:
        """What is wired into each input port of an evaluated node (or the loss node):
        port -> the ``(source node, source port)`` of each wire, in order."""
        return {port: list(wires) for port, wires in self._wires[node_id].items()}

    def node_params(self, node_id: str) -> dict[str, Any]:
        """The parameters of an evaluated node (or the loss node), as compiled."""
        return dict(self.loss_params if node_id == self.loss_id else self._params[node_id])

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


def compile_graph(graph: Graph, data: DataShape,
                  generator: np.random.Generator | None = None,
                  dtype: Any = np.float32) -> CompiledGraph:
    """Build the runnable model of ``graph`` for a dataset of shape ``data``.

    Args:
        data: the dataset's shape (:meth:`nncore.project.Project.data_shape`); the
            Input node's shapes come from it.
        generator: random source for the weights and dropout masks (default: the
            engine's, seeded by :func:`nncore.manual_seed`).
        dtype: parameter dtype (float32, the training default).

    Raises:
        GraphError: for the first problem that stops training (an unconnected port, a
            shape error, no Input or loss...), naming the node.
    """
    return CompiledGraph(graph, data, generator, dtype)
