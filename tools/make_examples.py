"""Write the example graphs in app/resources/examples/, the package data the window opens
(run: .venv/bin/python tools/make_examples.py).

Each example is built through the graph API, laid out left to right, 280 scene units apart
(the main chain on one row, the loss at the end), and saved with its dataset and
training settings, so it trains well as it is.
"""

from __future__ import annotations

from app.resources import examples_dir
from nncore.graph import Graph, save_graph

OUT = examples_dir()
STEP = 280.0


def build(layers, dataset, training, loss="cross_entropy", loss_params=None):
    """layers: (type_id, params) for the chain between Input and the loss."""
    g = Graph()
    inp = g.add_node("input", (0.0, 0.0))
    prev = inp
    for i, (type_id, params) in enumerate(layers, 1):
        node = g.add_node(type_id, (STEP * i, 0.0), params)
        g.connect(prev.id, "features" if prev is inp else "output", node.id, "input")
        prev = node
    end = g.add_node(loss, (STEP * (len(layers) + 1), 0.0), loss_params)
    g.connect(prev.id, "output", end.id, "input")
    g.connect(inp.id, "labels", end.id, "target")
    g.settings = {"dataset": dataset, "training": training}
    return g


def operators(widths, dataset, training, loss="cross_entropy", last=None):
    """A network written with operator nodes: per layer a Parameter W (inputs, units),
    a Parameter b (units,), MatMul and Add, ReLU between layers, ``last`` (an
    activation type id or None) before the loss. The parameters sit above their
    operation."""
    g = Graph()
    inp = g.add_node("input", (0.0, 0.0))
    prev, port, x = inp, "features", 0.0
    for i, (fan_in, units) in enumerate(zip(widths, widths[1:]), 1):
        x += STEP
        W = g.add_node("parameter", (x - STEP, -170.0), {"rows": fan_in, "columns": units})
        g.rename_node(W.id, f"W{i}")
        mm = g.add_node("matmul", (x, 0.0))
        g.connect(prev.id, port, mm.id, "a")
        g.connect(W.id, "output", mm.id, "b")
        x += STEP
        b = g.add_node("parameter", (x - STEP, -170.0), {"rows": units, "columns": 0})
        g.rename_node(b.id, f"b{i}")
        add = g.add_node("add", (x, 0.0))
        g.connect(mm.id, "output", add.id, "inputs")
        g.connect(b.id, "output", add.id, "inputs")
        prev, port = add, "output"
        activation = "relu" if i < len(widths) - 1 else last
        if activation:
            x += STEP
            act = g.add_node(activation, (x, 0.0))
            g.connect(prev.id, "output", act.id, "input")
            prev = act
    end = g.add_node(loss, (x + STEP, 0.0))
    g.connect(prev.id, "output", end.id, "input")
    g.connect(inp.id, "labels", end.id, "target")
    g.settings = {"dataset": dataset, "training": training}
    return g


EXAMPLES = {
    "digits_mlp": build(
        [("dense", {"units": 128}), ("batchnorm", {}), ("relu", {}), ("dense", {"units": 10})],
        {"name": "digits"},
        {"optimizer": "adam", "optimizer_options": {"lr": 2e-3}, "batch_size": 64, "epochs": 30},
        loss_params={"label_smoothing": 0.1}),
    "moons_tanh": build(
        [("dense", {"units": 16}), ("tanh", {}), ("dense", {"units": 16}), ("tanh", {}),
         ("dense", {"units": 2})],
        {"name": "moons", "options": {"n_samples": 500, "noise": 0.2}},
        {"optimizer": "adam", "optimizer_options": {"lr": 0.01}, "batch_size": 32, "epochs": 60}),
    "spiral_relu": build(
        [("dense", {"units": 64}), ("relu", {}), ("dense", {"units": 64}), ("relu", {}),
         ("dense", {"units": 3})],
        {"name": "spiral", "options": {"n_samples": 600, "classes": 3, "noise": 0.1}},
        {"optimizer": "adam", "optimizer_options": {"lr": 0.01}, "batch_size": 32, "epochs": 150}),
    "iris_sigmoid": build(
        [("dense", {"units": 16}), ("sigmoid", {}), ("dense", {"units": 3}), ("softmax", {})],
        {"name": "iris"},
        {"optimizer": "sgd", "optimizer_options": {"lr": 0.1, "momentum": 0.9}, "batch_size": 16,
         "epochs": 100}),
    "wine_leaky": build(
        [("dense", {"units": 32}), ("batchnorm", {}), ("leaky_relu", {"negative_slope": 0.1}),
         ("dropout", {"p": 0.2}), ("dense", {"units": 3})],
        {"name": "wine"},
        {"optimizer": "adamw", "optimizer_options": {"lr": 3e-3, "weight_decay": 0.01},
         "batch_size": 16, "epochs": 60,
         "early_stopping": {"patience": 15}}),
    "breast_cancer_bce": build(
        [("dense", {"units": 16}), ("relu", {}), ("dense", {"units": 1}), ("sigmoid", {})],
        {"name": "breast_cancer"},
        {"optimizer": "rmsprop", "optimizer_options": {"lr": 1e-3}, "batch_size": 32, "epochs": 40},
        loss="bce"),
    "sine_regression": build(
        [("dense", {"units": 32}), ("tanh", {}), ("dense", {"units": 32}), ("tanh", {}),
         ("dense", {"units": 1})],
        {"name": "sine", "options": {"n_samples": 300, "noise": 0.1}},
        {"optimizer": "adam", "optimizer_options": {"lr": 0.01}, "batch_size": 32, "epochs": 150},
        loss="mse"),
    # the computation graph written by hand: sigmoid(x·W + b), a Dense(1) -> Sigmoid
    "logistic_operators": operators(
        [30, 1], {"name": "breast_cancer"},
        {"optimizer": "adam", "optimizer_options": {"lr": 0.01}, "batch_size": 32, "epochs": 30},
        loss="bce", last="sigmoid"),
    "digits_operators": operators(
        [64, 64, 10], {"name": "digits"},
        {"optimizer": "adam", "optimizer_options": {"lr": 2e-3}, "batch_size": 64, "epochs": 30}),
}


def main() -> None:
    from nncore.project import Project

    OUT.mkdir(parents=True, exist_ok=True)
    for name, graph in EXAMPLES.items():
        problems = Project(graph).problems()  # the Input's shapes come from the data
        assert not problems, (name, problems)
        save_graph(OUT / f"{name}.json", graph)
        print("wrote", OUT / f"{name}.json")


if __name__ == "__main__":
    main()
