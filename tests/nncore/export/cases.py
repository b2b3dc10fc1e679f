"""Networks for the export tests: every example, and graphs that use every node type
of the catalogue (branches, Add, Concatenate, the operators, an Objective)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nncore.graph import Graph
from nncore.graph.io import load_graph

EXAMPLES = sorted((Path(__file__).parents[3] / "app" / "resources" / "examples").glob("*.json"))


def _settings(g: Graph, name: str, **training) -> Graph:
    g.set_settings({"dataset": {"name": name},
                    "training": {"optimizer": "adam", "optimizer_options": {"lr": 0.01},
                                 "batch_size": 16, "epochs": 2, **training}})
    return g


def branches() -> Graph:
    """Iris through three branches: Add of two, Concatenate with the third, BatchNorm,
    Leaky ReLU, Dropout, a Softmax fused into Cross-Entropy."""
    g = Graph()
    i = g.add_node("input").id
    a = g.add_node("dense", params={"units": 8}).id
    b = g.add_node("dense", params={"units": 8, "init": "xavier_uniform"}).id
    c = g.add_node("dense", params={"units": 5, "bias": False}).id
    relu, tanh, sig = (g.add_node(t).id for t in ("relu", "tanh", "sigmoid"))
    add, bn = g.add_node("add").id, g.add_node("batchnorm").id
    leaky = g.add_node("leaky_relu", params={"negative_slope": 0.2}).id
    drop = g.add_node("dropout", params={"p": 0.3}).id
    cat = g.add_node("concatenate").id
    out = g.add_node("dense", params={"units": 3}).id
    soft, loss = g.add_node("softmax").id, g.add_node("cross_entropy",
                                                      params={"label_smoothing": 0.05}).id
    for src, dst in ((i, a), (i, b), (i, c), (a, relu), (b, tanh), (c, sig)):
        g.connect(src, "features" if src == i else "output", dst, "input")
    g.connect(relu, "output", add, "inputs")
    g.connect(tanh, "output", add, "inputs")
    for src, dst in ((add, bn), (bn, leaky), (leaky, drop)):
        g.connect(src, "output", dst, "input")
    g.connect(drop, "output", cat, "inputs")
    g.connect(sig, "output", cat, "inputs")
    g.connect(cat, "output", out, "input")
    g.connect(out, "output", soft, "input")
    g.connect(soft, "output", loss, "input")
    g.connect(i, "labels", loss, "target")
    return _settings(g, "iris", max_grad_norm=1.0, schedule={"type": "step", "step_size": 1,
                                                              "gamma": 0.5})


def operators() -> Graph:
    """Iris with a cross-entropy written by hand: x·W + b, Transpose twice, Multiply,
    Exp, Log, Subtract, Divide, Power, Softmax; One-hot labels, Multiply, Sum over the
    last axis, Mean, Subtract from a Constant, an Objective."""
    g = Graph()
    nodes = [("in", "input", {}), ("W", "parameter", {"rows": 4, "columns": 3}),
             ("b", "parameter", {"rows": 3, "columns": 0, "init": "normal"}),
             ("mm", "matmul", {}), ("plus", "add", {}), ("t1", "transpose", {}),
             ("t2", "transpose", {}), ("half", "constant", {"value": 0.5}),
             ("mul", "multiply", {}), ("exp", "exp", {}), ("log", "log", {}),
             ("two", "constant", {"value": 2.0}), ("sub", "subtract", {}),
             ("div", "divide", {}), ("pow", "power", {"exponent": 1.0}),
             ("soft", "softmax", {}), ("oh", "one_hot", {}), ("lg", "log", {}),
             ("prod", "multiply", {}), ("sum", "sum", {"axis": "last"}), ("mean", "mean", {}),
             ("zero", "constant", {"value": 0.0}), ("neg", "subtract", {}),
             ("obj", "objective", {})]
    n = {key: g.add_node(t, params=p or None).id for key, t, p in nodes}
    wires = [("in:features", "mm:a"), ("W", "mm:b"), ("mm", "plus:inputs"),
             ("b", "plus:inputs"), ("plus", "t1"), ("t1", "t2"), ("t2", "mul:a"),
             ("half", "mul:b"), ("mul", "exp"), ("exp", "log"), ("log", "sub:a"),
             ("two", "sub:b"), ("sub", "div:a"), ("two", "div:b"), ("div", "pow"),
             ("pow", "soft"), ("in:labels", "oh:labels"), ("soft", "lg"), ("lg", "prod:a"),
             ("oh", "prod:b"), ("prod", "sum"), ("sum", "mean"), ("zero", "neg:a"),
             ("mean", "neg:b"), ("neg", "obj:loss"), ("soft", "obj:prediction")]
    for src, dst in wires:
        s, sp = (src.split(":") + ["output"])[:2]
        d, dp = (dst.split(":") + ["input"])[:2]
        g.connect(n[s], sp, n[d], dp)
    return _settings(g, "iris", optimizer="sgd", optimizer_options={"lr": 0.1,
                                                                    "momentum": 0.9})


def regression() -> Graph:
    """Sine with a squared error written by hand: Dense, Tanh, Dense; Targets, Subtract,
    Square, Mean over the batch, Sum, an Objective; AdamW with weight decay on every
    parameter, exponential schedule, early stopping."""
    g = Graph()
    i = g.add_node("input").id
    d1, t = g.add_node("dense", params={"units": 8}).id, g.add_node("tanh").id
    d2 = g.add_node("dense", params={"units": 1, "init": "kaiming_normal"}).id
    tg, sub, sq = g.add_node("targets").id, g.add_node("subtract").id, g.add_node("square").id
    mean = g.add_node("mean", params={"axis": "batch"}).id
    total, obj = g.add_node("sum").id, g.add_node("objective").id
    g.connect(i, "features", d1, "input")
    g.connect(d1, "output", t, "input")
    g.connect(t, "output", d2, "input")
    g.connect(i, "labels", tg, "labels")
    g.connect(d2, "output", sub, "a")
    g.connect(tg, "output", sub, "b")
    g.connect(sub, "output", sq, "input")
    g.connect(sq, "output", mean, "input")
    g.connect(mean, "output", total, "input")
    g.connect(total, "output", obj, "loss")
    g.connect(d2, "output", obj, "prediction")
    return _settings(g, "sine", optimizer="adamw",
                     optimizer_options={"lr": 0.01, "weight_decay": 0.05},
                     decay_bias_and_norm=True, schedule={"type": "exponential", "gamma": 0.9},
                     early_stopping={"patience": 1})


def bce_unfused() -> Graph:
    """Breast cancer: Dense(1), Sigmoid, Dropout p=0 before Binary Cross-Entropy (not
    fused: the probability goes in, [1 - p, p] comes out)."""
    g = Graph()
    i = g.add_node("input").id
    d, s = g.add_node("dense", params={"units": 1}).id, g.add_node("sigmoid").id
    drop, loss = g.add_node("dropout", params={"p": 0.0}).id, g.add_node("bce").id
    g.connect(i, "features", d, "input")
    g.connect(d, "output", s, "input")
    g.connect(s, "output", drop, "input")
    g.connect(drop, "output", loss, "input")
    g.connect(i, "labels", loss, "target")
    return _settings(g, "breast_cancer", optimizer="rmsprop", optimizer_options={"lr": 0.01})


GRAPHS = {"branches": branches, "operators": operators, "regression": regression,
          "bce_unfused": bce_unfused}
CASES = [p.stem for p in EXAMPLES] + sorted(GRAPHS)


def case_graph(name: str) -> Graph:
    """An example by its file name, or one of :data:`GRAPHS`."""
    if name in GRAPHS:
        return GRAPHS[name]()
    return load_graph(next(p for p in EXAMPLES if p.stem == name))


_RUNS: dict[str, object] = {}


def trained_run(name: str, epochs: int = 1):
    """The case trained for ``epochs`` (cached per session: a run is trained once)."""
    from nncore.project import TrainingRun

    key = f"{name}/{epochs}"
    if key not in _RUNS:
        run = TrainingRun(case_graph(name))
        run.fit(epochs)
        _RUNS[key] = run
    return _RUNS[key]


def table_project(tmp_path):
    """A CSV project (120 rows written into ``tmp_path``): a number with missing values
    (mean), a text category with missing values (most frequent, one-hot), a number read
    as an ordinal category, an ISO date expanded, a yes/no target."""
    rng = np.random.default_rng(0)
    lines = ["age,color,size,day,label"]
    for i in range(120):
        age = "" if i % 17 == 3 else f"{rng.uniform(18, 80):.1f}"
        color = "" if i % 13 == 0 else ["red", "green", "blue"][i % 3]
        day = "" if i % 29 == 5 else f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
        label = "yes" if (i % 4 == 0) ^ (age != "" and float(age) > 50) else "no"
        lines.append(f"{age},{color},{1 + i % 3},{day},{label}")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    g = Graph()
    i, d = g.add_node("input").id, g.add_node("dense", params={"units": 2}).id
    loss = g.add_node("cross_entropy").id
    g.connect(i, "features", d, "input")
    g.connect(d, "output", loss, "input")
    g.connect(i, "labels", loss, "target")
    g.set_settings({"dataset": {"source": "csv", "path": str(tmp_path / "t.csv"),
                                "missing": "mean", "expand_dates": True,
                                "columns": {"size": {"kind": "category",
                                                     "encoding": "ordinal"},
                                            "color": {"missing": "most_frequent"}}},
                    "training": {"epochs": 1}})
    return g
