"""The step-through engine (issue 10): one minibatch through the engine's own recorded
graph, node by node; its values and gradients are the training loop's, bit for bit; the
explanations carry the right numbers; Apply update is one real optimizer step for every
optimizer of the registry; the gradient check names a broken op."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nncore import functional as F
from nncore.graph import GraphError, load_graph
from nncore.graph.types.explain import num, signed, written_sum
from nncore.optim.registry import OPTIMIZERS
from nncore.project import TrainingRun
from nncore.stepthrough import StepThrough, batch_problem
from nncore.tensor import Tensor

EXAMPLES = Path(__file__).resolve().parents[2] / "app" / "resources" / "examples"
SEED = 7


def run_of(name: str, **training) -> TrainingRun:
    graph = load_graph(EXAMPLES / f"{name}.json")
    if training:
        graph.set_settings({**graph.settings,
                            "training": {**graph.settings["training"], **training}})
    return TrainingRun(graph)


def node_by_type(model, type_id: str) -> str:
    return next(nid for nid, t in model.node_types.items() if t.type_id == type_id)


def trainer_pass(run: TrainingRun, start: int, size: int, training: bool = True):
    """What the Trainer does for one batch (forward, loss, zero_grad, backward), with the
    step-through's Dropout masks: returns (output, activations, loss)."""
    model = run.model
    for m in model.modules():
        if type(m).__name__ == "Dropout":
            m.generator = np.random.default_rng(SEED)
    model.train(training)
    X = run.split.X_train[start:start + size].astype(np.float32)
    y = run.split.y_train[start:start + size]
    out, acts = model.forward_with_activations(Tensor(X))
    loss = model.loss(out, y)
    run.optimizer.zero_grad()
    loss.backward()
    return out, acts, loss


@pytest.mark.parametrize("example", ["logistic_operators", "digits_operators", "digits_mlp",
                                     "wine_leaky", "iris_sigmoid"])
def test_values_and_gradients_are_the_training_loops_bit_for_bit(example):
    a, b = run_of(example), run_of(example)
    st = StepThrough.from_run(a, start=5, size=8, seed=SEED)
    st.run_to_end()
    _, acts, loss = trainer_pass(b, 5, 8)
    assert st.batch_loss == float(loss.data)
    for nid in a.model.order:  # every node's output equals a direct forward's
        np.testing.assert_array_equal(st.value(nid), acts[a.model.node_names[nid]])
    grads = st.parameter_gradients()
    for name, p in b.model.named_parameters():
        assert grads[name] is not None and np.array_equal(grads[name], p.grad), name
    # a parameter wire's gradient is the parameter's own .grad
    for name, nid in a.model.parameter_nodes.items():
        if a.model.node_types[nid].type_id == "parameter":
            np.testing.assert_array_equal(st.gradient(nid), grads[name])


def test_the_logits_gradient_is_softmax_minus_onehot_over_n():
    """Independently of the engine: Cross-Entropy's fused gradient on digits_operators'
    logits (the last Add's output) is (softmax(z) - onehot(y)) / N."""
    run = run_of("digits_operators")
    st = StepThrough.from_run(run, start=0, size=6)
    st.run_to_end()
    logits_node = st.model.wires_into(st.model.loss_id)["input"][0][0]
    z = st.value(logits_node).astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(10)[run.split.y_train[:6]]
    np.testing.assert_allclose(st.gradient(logits_node), (p - onehot) / 6, rtol=1e-5, atol=1e-7)


def test_the_cursor_walks_forward_in_topological_order_then_back():
    run = run_of("logistic_operators")
    st = StepThrough.from_run(run, start=0, size=4)
    model = st.model
    assert st.phase == "ready" and st.current is None and st.loss is None
    assert st.backward_order == st.forward_order[::-1]
    assert st.forward_order[0] == model.input_id and st.forward_order[-1] == model.loss_id
    position = {nid: i for i, nid in enumerate(st.forward_order)}
    for nid in st.forward_order:  # every wire goes from an earlier node to a later one
        for wires in model.wires_into(nid).values():
            assert all(position[src] < position[nid] for src, _ in wires)
    with pytest.raises(RuntimeError, match="forward pass has 7 nodes left"):
        st.backward_step()
    matmul = node_by_type(model, "matmul")
    seen = []
    while st.can_forward:
        seen.append(st.forward_step())
        assert st.current == seen[-1]
        if seen[-1] != matmul and matmul not in seen:
            assert st.value(matmul) is None  # not reached yet
    assert seen == st.forward_order and st.loss == st.batch_loss
    assert st.value(matmul).shape == (4, 1)
    with pytest.raises(RuntimeError, match="forward pass is already complete"):
        st.forward_step()
    assert st.gradient(model.loss_id) is None
    assert st.backward_step() == model.loss_id
    assert float(st.gradient(model.loss_id)) == 1.0  # dL/dL
    add = node_by_type(model, "add")
    # the Add's output goes into the Sigmoid, fused into the loss: the loss reads it
    assert st.gradient(add) is not None
    assert st.gradient(matmul) is None  # its reader, the Add, is not stepped back yet
    order = [model.loss_id]
    while st.can_backward:
        order.append(st.backward_step())
    assert order == st.backward_order and st.phase == "done" and st.can_update
    assert st.gradient(matmul).shape == (4, 1)
    sigmoid = node_by_type(model, "sigmoid")
    assert st.gradient(sigmoid) is None and st.gradient_known(sigmoid)  # fused: none flows
    assert st.gradient(model.input_id, model.labels_port) is None
    st.apply_update()
    with pytest.raises(RuntimeError, match="update is applied already; reset"):
        st.apply_update()
    st.reset()
    assert st.phase == "ready" and st.value(matmul) is None
    with pytest.raises(RuntimeError, match="forward and backward passes first"):
        st.apply_update()


def test_a_batch_of_one_with_batchnorm_in_training_is_refused_and_says_why():
    run = run_of("digits_mlp")
    bn = node_by_type(run.model, "batchnorm")
    with pytest.raises(GraphError, match=r"BatchNorm: BatchNorm needs at least 2 samples per "
                                         r"batch with training behaviour .* this batch has 1: "
                                         r"choose 2 or more samples, or evaluation "
                                         r"behaviour") as e:
        StepThrough.from_run(run, start=3, size=1, training=True)
    assert e.value.node_id == bn
    assert batch_problem(run.model, 1, training=False) is None
    st = StepThrough.from_run(run, start=3, size=1, training=False)  # running statistics
    st.run_to_end()
    text = st.explain(bn, (0, 5))
    bn_module = run.model._modules[bn]
    assert f"running mean μ[5] = {num(bn_module.running_mean[5])}" in text
    assert f"running variance σ²[5] = {num(bn_module.running_var[5])}" in text


def test_a_batch_outside_the_part_names_the_part_and_its_size():
    run = run_of("logistic_operators")
    n = len(run.split.X_val)
    with pytest.raises(ValueError, match=rf"the val part has {n} samples \(0\.\.{n - 1}\); "
                                         rf"samples {n - 1}\.\.{n} are not all in it"):
        StepThrough.from_run(run, part="val", start=n - 1, size=2)
    with pytest.raises(ValueError, match="at least 1 sample"):
        StepThrough.from_run(run, size=0)
    with pytest.raises(ValueError, match="part must be one of train, val"):
        StepThrough.from_run(run, part="test")
    st = StepThrough.from_run(run, part="val", start=n - 2, size=2)
    np.testing.assert_array_equal(st.y, run.split.y_val[n - 2:])


def test_the_step_through_changes_nothing_until_the_update():
    run = run_of("digits_mlp")
    before = {k: v.copy() for k, v in run.model.state_dict().items()}
    rng_state = run.trainer.generator.bit_generator.state
    st = StepThrough.from_run(run, start=0, size=8)
    st.run_to_end()
    st.check_gradients(node=node_by_type(run.model, "batchnorm"))
    for k, v in run.model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)  # running stats included
    assert run.model.training and run.trainer.generator.bit_generator.state == rng_state


# ---------------------------------------------------------------------------- explanations
def test_sigmoid_explains_the_chain_rule_with_its_numbers():
    run = run_of("iris_sigmoid")
    st = StepThrough.from_run(run, start=2, size=5)
    st.run_to_end()
    sig = node_by_type(st.model, "sigmoid")
    x = st.value(st.model.wires_into(sig)["input"][0][0]).astype(np.float64)[3, 7]
    y = 1 / (1 + np.exp(-x))
    g = float(st.gradient(sig)[3, 7])
    text = st.explain(sig, (3, 7))
    assert "y[3, 7] = σ(x) = 1 / (1 + e^−x)" in text and num(y) in text
    assert (f"dL/dx[3, 7] = dL/dy · y(1 − y) = {num(g)} · {num(y)} · {num(1 - y)} = "
            f"{num(g * y * (1 - y))}") in text
    dense = st.model.wires_into(sig)["input"][0][0]
    assert g * y * (1 - y) == pytest.approx(float(st.gradient(dense)[3, 7]), rel=1e-4)
    softmax = node_by_type(st.model, "softmax")
    assert "no gradient flows through this output: Cross-Entropy reads" in st.explain(softmax)


def test_matmul_batchnorm_crossentropy_dropout_and_leaky_relu_explain_their_numbers():
    st = StepThrough.from_run(run_of("logistic_operators"), start=0, size=3)
    st.run_to_end()
    mm = node_by_type(st.model, "matmul")
    (xs, _), (ws, _) = st.model.wires_into(mm)["a"][0], st.model.wires_into(mm)["b"][0]
    a, w = st.value(xs).astype(np.float64), st.value(ws).astype(np.float64)
    g = st.gradient(mm).astype(np.float64)
    text = st.explain(mm, (1, 0))
    assert "dL/db = aᵀ · dL/dy: (30, 3) · (3, 1) → (30, 1)" in text
    assert f"y[1, 0] = Σ_k a[1, k]·b[k, 0] = {num(a[1, 0])}·{signed(w[0, 0])} " in text
    assert "(30 terms) = " + num(a[1] @ w[:, 0]) in text
    dW = a[:, 0] @ g[:, 0]
    terms = [f"{num(a[n, 0])}·{signed(g[n, 0])}" for n in range(3)]  # e.g. 0.5·(−0.2)
    assert ("dL/db[0, 0] = Σ_n a[n, 0]·dL/dy[n, 0] = " + written_sum(terms, dW)) in text
    assert " + −" not in text  # a negative term is subtracted
    assert dW == pytest.approx(float(st.gradient(ws)[0, 0]), rel=1e-5)

    st = StepThrough.from_run(run_of("wine_leaky"), start=4, size=6, seed=SEED)
    st.run_to_end()
    model = st.model
    bn = node_by_type(model, "batchnorm")
    x = st.value(model.wires_into(bn)["input"][0][0]).astype(np.float64)
    text = st.explain(bn, (2, 3))
    mean, var = x[:, 3].mean(), x[:, 3].var()
    assert f"batch mean μ[3] = {num(mean)}, batch variance σ²[3] = {num(var)}" in text
    module = model._modules[bn]
    assert f"γ[3] = {num(module.weight.data[3])}, β[3] = {num(module.bias.data[3])}" in text
    # Dropout's mask is the one drawn from the step-through's seed
    drop = node_by_type(model, "dropout")
    shape = st.value(drop).shape
    mask = (np.random.default_rng(SEED).random(shape) >= 0.2) * 1.25
    text = st.explain(drop, (1, 4))
    assert f"this batch keeps {np.count_nonzero(mask)} of {mask.size}" in text
    assert f"mask[1, 4] = {num(mask[1, 4])}" in text
    np.testing.assert_array_equal(st.value(drop) == 0, ~(mask > 0) | (st.value(
        model.wires_into(drop)["input"][0][0]) == 0))
    leaky = node_by_type(model, "leaky_relu")
    lx = st.value(model.wires_into(leaky)["input"][0][0])
    i = tuple(int(k) for k in np.argwhere(lx < 0)[0])
    lg = float(st.gradient(leaky)[i])
    assert f"dL/dy · (1 if x > 0 else 0.1) = {num(lg)} · 0.1 = {num(lg * 0.1)}" in st.explain(leaky, i)
    # Cross-Entropy: (p − onehot(y)) / N for the first sample's class
    logits = model.wires_into(model.loss_id)["input"][0][0]
    z = st.value(logits).astype(np.float64)[0]
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    label = int(st.y[0])
    text = st.explain(model.loss_id)
    assert (f"dL/dz[0, {label}] = (p − onehot(y)) / N = ({num(p[label])} − 1) / 6 = "
            f"{num((p[label] - 1) / 6)}") in text


def test_every_node_of_the_examples_explains_itself_before_and_after_the_backward_pass():
    for example in ("digits_operators", "digits_mlp", "iris_sigmoid", "moons_tanh",
                    "sine_regression", "breast_cancer_bce"):
        st = StepThrough.from_run(run_of(example), start=0, size=4)
        assert "not computed yet" in st.explain(st.forward_order[1])
        while st.can_forward:
            st.forward_step()
        for nid in st.forward_order[:-1]:
            assert "known once the backward pass comes here" in st.explain(nid) or \
                "no gradient" in st.explain(nid) or nid == st.model.input_id, (example, nid)
        st.run_to_end()
        for nid in st.forward_order:
            text = st.explain(nid)
            assert text and "known once" not in text, (example, nid, text)


# ---------------------------------------------------------------------------- the update
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_apply_update_is_one_optimizer_step_for_every_optimizer(name):
    info = OPTIMIZERS[name]
    options = {"weight_decay": 0.01} if "weight_decay" in info.specs else {}
    a = run_of("digits_mlp", optimizer=name, optimizer_options=options)
    b = run_of("digits_mlp", optimizer=name, optimizer_options=options)
    for _ in range(2):  # the second step has state from the first
        st = StepThrough.from_run(a, start=16, size=8)
        st.run_to_end()
        updates = st.apply_update()
        trainer_pass(b, 16, 8)
        b.optimizer.step()
        for (pa_name, pa), (_, pb) in zip(a.model.named_parameters(), b.model.named_parameters()):
            assert np.array_equal(pa.data, pb.data), (name, pa_name)
        for ka, va in a.model.state_dict().items():  # BatchNorm's running statistics too
            assert np.array_equal(va, b.model.state_dict()[ka]), (name, ka)
    sa, sb = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
    assert sa.keys() == sb.keys()
    for i in sa:
        for key, value in sa[i].items():
            assert np.array_equal(value, sb[i][key]), (name, i, key)
    # the described state is the optimizer's, by its names
    index = {id(p): i for i, p in enumerate(p for g in a.optimizer.param_groups
                                            for p in g["params"])}
    params = dict(a.model.named_parameters())
    assert [u.name for u in updates] == list(params)
    for u in updates:
        state = sa[index[id(params[u.name])]]
        for key, symbol in a.optimizer.state_names.items():
            if key in state:
                term = u.term(symbol)
                assert term.key == key and np.array_equal(term.after, state[key]), (name, key)
                assert term.before is not None  # the second step: state from the first
        np.testing.assert_array_equal(u.term("w").after, params[u.name].data)
        np.testing.assert_array_equal(u.term("g").after, st.parameter_gradients()[u.name])
        assert u.title == a.model.describe_parameter(u.name) and u.optimizer == info.cls.__name__


def test_adams_update_shows_m_v_their_bias_corrections_and_the_step():
    a = run_of("logistic_operators", optimizer="adam", optimizer_options={"lr": 0.01})
    st = StepThrough.from_run(a, start=0, size=5)
    st.run_to_end()
    w0 = a.model.state_dict()
    updates = {u.name: u for u in st.apply_update()}
    (name, p), = [(n, p) for n, p in a.model.named_parameters() if n.endswith(".value")
                  and p.data.shape == (30, 1)]
    u = updates[name]
    g = u.term("g").after.astype(np.float64)
    m, v = 0.1 * g, 0.001 * g * g  # t = 1 from zero state
    np.testing.assert_allclose(u.term("m_t").after, m, rtol=1e-6)
    np.testing.assert_allclose(u.term("v_t").after, v, rtol=1e-5)
    np.testing.assert_allclose(u.term("m̂_t").after, g, rtol=1e-6)  # m / (1 - 0.9)
    np.testing.assert_allclose(u.term("v̂_t").after, g * g, rtol=1e-5)
    step = 0.01 * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(u.term("step").after, step, rtol=1e-5)
    np.testing.assert_allclose(w0[name] - p.data, step, rtol=1e-4, atol=1e-8)
    assert u.term("m_t").formula.startswith("m_t = β1·m_{t−1} + (1 − β1)·g")
    assert u.hyperparameters["lr"] == 0.01


def test_weight_decay_is_shown_as_l2_or_decoupled():
    sgd = run_of("logistic_operators", optimizer="momentum",
                 optimizer_options={"weight_decay": 0.1}, decay_bias_and_norm=True)
    st = StepThrough.from_run(sgd, size=4)
    st.run_to_end()
    w = {n: p.data.astype(np.float64).copy() for n, p in sgd.model.named_parameters()}
    u = st.apply_update()[0]
    l2 = u.term("g + λ·w")
    np.testing.assert_allclose(l2.after, u.term("g").after + 0.1 * w[u.name], rtol=1e-6)
    np.testing.assert_allclose(u.term("b_t").after, l2.after, rtol=1e-6)  # b_1 = g
    assert u.term("b_t").formula.startswith("b_1 = g")
    adamw = run_of("logistic_operators", optimizer="adamw",
                   optimizer_options={"weight_decay": 0.1, "lr": 0.01}, decay_bias_and_norm=True)
    st = StepThrough.from_run(adamw, size=4)
    st.run_to_end()
    w = {n: p.data.astype(np.float64).copy() for n, p in adamw.model.named_parameters()}
    u = st.apply_update()[0]
    np.testing.assert_allclose(u.term("w·(1 − lr·λ)").after, w[u.name] * (1 - 0.01 * 0.1))
    with pytest.raises(KeyError, match="no term 'g \\+ λ·w' in this AdamW step"):
        u.term("g + λ·w")


# ---------------------------------------------------------------------------- gradient checks
def test_the_gradient_check_passes_on_a_correct_network_and_leaves_it_as_it_was():
    run = run_of("logistic_operators")
    st = StepThrough.from_run(run, start=0, size=6)
    weights = {k: v.copy() for k, v in run.model.state_dict().items()}
    result = st.check_gradients()
    assert result.ok, str(result)
    assert result.max_rel_error < 1e-5
    nodes = {e.node for e in result.entries}
    assert node_by_type(run.model, "matmul") in nodes and run.model.loss_id in nodes
    assert any(e.title.startswith("whole network: W1.value") for e in result.entries)
    assert "gradient check passed" in str(result)
    for k, v in run.model.state_dict().items():
        np.testing.assert_array_equal(v, weights[k])


def test_a_wrong_backward_is_found_and_its_node_named(monkeypatch):
    run = run_of("logistic_operators")
    st = StepThrough.from_run(run, start=0, size=6)
    right = F.MatMul.backward

    def wrong(self, g):
        ga, gb = right(self, g)
        return ga, (None if gb is None else gb * 1.5)

    monkeypatch.setattr(F.MatMul, "backward", wrong)
    result = st.check_gradients()
    mm = node_by_type(run.model, "matmul")
    assert not result.ok
    assert result.failed_nodes == [mm]
    worst = result.worst
    assert worst.node == mm and worst.what == "input 'b'" and not worst.result.ok
    assert len(worst.result.worst_index) == 2
    assert "gradient check FAILED" in str(result) and "MatMul: input 'b'" in str(result)
    # end to end, the parameter fed through the broken op fails too
    whole = [e for e in result.entries if e.title.startswith("whole network")]
    assert any(not e.result.ok and e.what == "W1.value" for e in whole)
    # a node checked alone: the Sigmoid is right
    assert st.check_gradients(node=node_by_type(run.model, "sigmoid")).ok


def test_a_wrong_batchnorm_backward_is_named_with_its_batch_statistics(monkeypatch):
    run = run_of("wine_leaky")
    st = StepThrough.from_run(run, start=0, size=6, seed=SEED)
    bn = node_by_type(run.model, "batchnorm")
    drop = node_by_type(run.model, "dropout")
    assert st.check_gradients(node=drop).ok  # a fixed mask: finite differences work
    assert st.check_gradients(node=bn).ok
    right = F.BatchNorm.backward

    def wrong(self, g):
        gx, gw, gb = right(self, g)
        return (None if gx is None else gx + 0.01), gw, gb

    monkeypatch.setattr(F.BatchNorm, "backward", wrong)
    result = st.check_gradients(node=bn)
    assert not result.ok and result.failed_nodes == [bn]
    assert result.worst.what == "input 'input'"


# ---------------------------------------------------------------------------- a loss by hand
def hand_written_mse():
    """mean((Dense(x) - targets)²) into an Objective, on the sine regression data."""
    from nncore.graph import Graph

    g = Graph()
    g.set_settings({"dataset": {"source": "builtin", "name": "sine"},
                    "training": {"batch_size": 16, "seed": 0, "optimizer": "sgd",
                                 "optimizer_options": {"lr": 0.1}, "max_grad_norm": 0.05}})
    inp, dense, y = g.add_node("input"), g.add_node("dense", params={"units": 1}), \
        g.add_node("targets")
    sub, sq, mean, obj = (g.add_node(t) for t in ("subtract", "square", "mean", "objective"))
    for a, pa, b, pb in ((inp, "features", dense, "input"), (inp, "labels", y, "labels"),
                         (dense, "output", sub, "a"), (y, "output", sub, "b"),
                         (sub, "output", sq, "input"), (sq, "output", mean, "input"),
                         (mean, "output", obj, "loss"), (dense, "output", obj, "prediction")):
        g.connect(a.id, pa, b.id, pb)
    return g, {"dense": dense.id, "targets": y.id, "sub": sub.id, "square": sq.id,
               "mean": mean.id, "objective": obj.id}


def test_a_loss_written_by_hand_steps_through_its_label_nodes_and_clips_as_training_does():
    g, ids = hand_written_mse()
    a, b = TrainingRun(g), TrainingRun(g)
    assert a.trainer.max_grad_norm == 0.05
    st = StepThrough.from_run(a, start=10, size=5)
    model = st.model
    # the nodes that use the labels come after the network, before the Objective
    assert st.forward_order.index(ids["targets"]) > st.forward_order.index(ids["dense"])
    assert st.forward_order[-1] == ids["objective"] == model.loss_id
    st.run_to_end()
    pred = st.value(ids["dense"]).astype(np.float64)
    target = a.split.y_train[10:15].reshape(pred.shape)
    np.testing.assert_array_equal(st.value(ids["targets"]), target.astype(np.float32))
    assert st.batch_loss == pytest.approx(np.mean((pred - target) ** 2), rel=1e-6)
    # dL/dŷ = 2(ŷ − y)/n reaches the Dense's output through Subtract, Square and Mean
    np.testing.assert_allclose(st.gradient(ids["dense"]), 2 * (pred - target) / 5, rtol=1e-5)
    assert st.gradient(ids["targets"]) is None and st.gradient_known(ids["targets"])  # data
    assert float(st.gradient(ids["mean"])) == 1.0
    assert "backpropagation starts here: dL/dL = 1" in st.explain(ids["objective"])
    text = st.explain(ids["mean"])
    sq = st.value(ids["square"]).astype(np.float64)
    assert f"; y = Σ x / 5 = {num(sq.mean())}" in text
    assert "dL/dx = dL/dy / n for each reduced element = 1 / 5 = 0.2" in text
    # Apply update: the Trainer's step, gradient clipping included
    st.apply_update()
    trainer_pass(b, 10, 5)
    from nncore.nn import clip_grad_norm_
    clip_grad_norm_(b.model.parameters(), 0.05)
    b.optimizer.step()
    for (n, pa), (_, pb) in zip(a.model.named_parameters(), b.model.named_parameters()):
        assert np.array_equal(pa.data, pb.data), n
    assert st.check_gradients().ok


def test_a_sampled_gradient_check_evaluates_only_the_chosen_elements(monkeypatch):
    from nncore.gradcheck import gradcheck

    x = Tensor(np.linspace(-1, 1, 10), requires_grad=True)
    calls = []

    def fn(t):
        calls.append(1)
        return F.tanh(t)

    result = gradcheck(fn, [x], elements=3)
    assert result.ok and len(calls) == 1 + 2 * 3  # the backward pass, then 2 per element
    with pytest.raises(ValueError, match="elements must be at least 1"):
        gradcheck(fn, [x], elements=0)
    # a sample still finds a wrong op in the digits network written with operators
    st = StepThrough.from_run(run_of("digits_operators"), start=0, size=16)
    assert st.check_gradients(elements=32).ok
    right = F.MatMul.backward
    monkeypatch.setattr(F.MatMul, "backward",
                        lambda self, g: tuple(None if v is None else v * 1.01 for v in right(self, g)))
    bad = st.check_gradients(elements=32)
    assert set(bad.failed_nodes) == {nid for nid, t in st.model.node_types.items()
                                     if t.type_id == "matmul"}


def every_operator_graph():
    """A network using every operator and merge node (iris: 4 features, 3 classes),
    its loss written by hand into an Objective."""
    from nncore.graph import Graph

    g = Graph()
    g.set_settings({"dataset": {"source": "builtin", "name": "iris"},
                    "training": {"batch_size": 8, "seed": 0, "optimizer": "sgd"}})
    n = {k: g.add_node(t, params=p) for k, t, p in (
        ("in", "input", None), ("W", "parameter", {"rows": 4, "columns": 3}),
        ("mm", "matmul", None), ("exp", "exp", None), ("log", "log", None),
        ("pow", "power", {"exponent": 2.0}), ("two", "constant", {"value": 2.0}),
        ("mul", "multiply", None), ("div", "divide", None), ("t1", "transpose", None),
        ("t2", "transpose", None), ("cat", "concatenate", None),
        ("sum1", "sum", {"axis": "last"}), ("sm", "softmax", None), ("oh", "one_hot", None),
        ("sub", "subtract", None), ("sq", "square", None), ("sum2", "sum", {"axis": "last"}),
        ("add", "add", None), ("tg", "targets", None), ("mt", "mean", {"axis": "all"}),
        ("zero", "constant", {"value": 0.0}), ("mul0", "multiply", None),
        ("mean", "mean", {"axis": "batch"}), ("msum", "sum", {"axis": "all"}),
        ("total", "add", None), ("obj", "objective", None))}
    for a, pa, b, pb in (
            ("in", "features", "mm", "a"), ("W", "output", "mm", "b"),
            ("mm", "output", "exp", "input"), ("exp", "output", "log", "input"),
            ("log", "output", "pow", "input"), ("pow", "output", "mul", "a"),
            ("two", "output", "mul", "b"), ("mul", "output", "div", "a"),
            ("two", "output", "div", "b"), ("div", "output", "t1", "input"),
            ("t1", "output", "t2", "input"), ("t2", "output", "cat", "inputs"),
            ("mm", "output", "cat", "inputs"), ("cat", "output", "sum1", "input"),
            ("mm", "output", "sm", "input"), ("in", "labels", "oh", "labels"),
            ("sm", "output", "sub", "a"), ("oh", "output", "sub", "b"),
            ("sub", "output", "sq", "input"), ("sq", "output", "sum2", "input"),
            ("sum1", "output", "add", "inputs"), ("sum2", "output", "add", "inputs"),
            ("in", "labels", "tg", "labels"), ("tg", "output", "mt", "input"),
            ("mt", "output", "mul0", "a"), ("zero", "output", "mul0", "b"),
            ("add", "output", "mean", "input"), ("mean", "output", "msum", "input"),
            ("msum", "output", "total", "inputs"), ("mul0", "output", "total", "inputs"),
            ("total", "output", "obj", "loss"), ("mm", "output", "obj", "prediction")):
        g.connect(n[a].id, pa, n[b].id, pb)
    return g, {k: v.id for k, v in n.items()}


def test_every_operator_explains_its_numbers_and_passes_the_gradient_check():
    from nncore.graph.types import CATALOGUE

    g, ids = every_operator_graph()
    run = TrainingRun(g)
    st = StepThrough.from_run(run, start=0, size=4)
    st.run_to_end()
    used = {st.model.node_types[nid].type_id for nid in st.model.order + st.model.loss_order}
    operators = {t for t in CATALOGUE if CATALOGUE[t].category in ("Operators", "Merge")}
    assert operators - used == {"objective"}  # the loss node, in model.loss_id
    for nid in st.forward_order:
        text = st.explain(nid)
        value = st.value(nid)
        index = (0,) * value.ndim if nid != st.model.loss_id else ()
        assert num(value[index]) in text, (nid, text)
    # Power's rule with its numbers: dL/dx = dL/dy · 2·x^1, the engine's gradient of
    # its only input (Log's output)
    x, gy = float(st.value(ids["log"])[1, 2]), float(st.gradient(ids["pow"])[1, 2])
    text = st.explain(ids["pow"], (1, 2))
    assert f"dL/dy · 2·x^1 = {num(gy)} · 2 · {signed(x)} = {num(gy * 2 * x)}" in text
    assert gy * 2 * x == pytest.approx(float(st.gradient(ids["log"])[1, 2]), rel=1e-5)
    gm = float(st.gradient(ids["mul"])[1, 2])
    assert f"dL/da[1, 2] = dL/dy · b = {num(gm)} · 2 = {num(gm * 2)}" in st.explain(ids["mul"], (1, 2))
    assert "dL/db[1, 2] = dL/dy · (−a/b²) = " in st.explain(ids["div"], (1, 2))
    mm = st.value(ids["mm"])
    text = st.explain(ids["cat"], (1, 4))  # column 4 of [t2 (3), mm (3)]: mm's column 1
    assert "y = [x1, x2] along the last axis, widths 3 + 3 = 6" in text
    assert f"y[1, 4] = x2[1, 1] = {num(mm[1, 1])}" in text
    assert f"dL/dx2[1, 1] = dL/dy[1, 4] = {num(st.gradient(ids['cat'])[1, 4])}" in text
    text = st.explain(ids["t1"], (2, 1))
    assert f"y[2, 1] = x[1, 2] = {num(st.value(ids['div'])[1, 2])}" in text
    assert "nothing flows back into them" in st.explain(ids["oh"])
    result = st.check_gradients()
    assert result.ok, str(result)
    checked = {e.node for e in result.entries}
    for key in ("mm", "exp", "log", "pow", "mul", "div", "t1", "cat", "sum1", "sm", "sub",
                "sq", "add", "mean"):
        assert ids[key] in checked, key


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_each_optimizers_described_terms_add_up_to_the_change_of_w(name):
    """The numbers Apply update shows are the step's: w_before − w_after computed from
    the described terms (float64) equals the real change (float32), for every
    optimizer, on the second step (state from the first)."""
    run = run_of("logistic_operators", optimizer=name, optimizer_options={"lr": 0.05})
    for _ in range(2):
        st = StepThrough.from_run(run, start=0, size=8)
        w_before = {n: p.data.astype(np.float64).copy() for n, p in run.model.named_parameters()}
        st.run_to_end()
        updates = st.apply_update()
    hyper = updates[0].hyperparameters
    lr, eps = hyper["lr"], hyper.get("eps", 0.0)
    for u in updates:
        t = {term.symbol: np.asarray(term.after, dtype=np.float64) for term in u.terms}
        g = t["g"]
        if name == "sgd":
            delta = lr * g
        elif name == "momentum":
            delta = lr * t["b_t"]
        elif name == "adagrad":
            delta = t["clr"] * g / (np.sqrt(t["G_t"]) + eps)
        elif name == "rmsprop":
            delta = lr * g / (np.sqrt(t["v_t"]) + eps)
        elif name == "adadelta":
            delta = lr * t["Δw"]
        else:  # adam, adamw: the decoupled decay first, then the step
            decayed = t.get("w·(1 − lr·λ)", w_before[u.name])
            delta = (w_before[u.name] - decayed) + t["step"]
        np.testing.assert_allclose(w_before[u.name] - t["w"], delta, rtol=2e-3, atol=1e-7,
                                   err_msg=f"{name} {u.name}")
        assert u.term("w").formula.startswith("w ← ")


def test_a_summary_counts_nan_apart_from_the_statistics():
    from nncore.stepthrough import summarize

    s = summarize(np.array([[1.0, np.nan], [3.0, np.inf]]))
    assert s == {"shape": (2, 2), "size": 4, "mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0,
                 "nonfinite": 2}
    assert np.isnan(summarize(np.array([np.nan]))["mean"])


# ---------------------------------------------------------------------------- reference cases
def sums_into_an_objective(features, middle):
    """Input -> ``middle`` nodes (a chain) whose output feeds two Sum nodes, added
    into an Objective: L = 2·Σ out."""
    from nncore.graph import DataShape, Graph, compile_graph

    g = Graph()
    nodes = [g.add_node("input")]
    for type_id, params in middle:
        node = g.add_node(type_id, params=params)
        g.connect(nodes[-1].id, nodes[-1].type.outputs[0].name, node.id,
                  node.type.inputs[0].name)
        nodes.append(node)
    s1, s2, add, obj = (g.add_node(t) for t in ("sum", "sum", "add", "objective"))
    out = nodes[-1]
    for a, pa, b, pb in ((out, "output", s1, "input"), (out, "output", s2, "input"),
                         (s1, "output", add, "inputs"), (s2, "output", add, "inputs"),
                         (add, "output", obj, "loss"), (out, "output", obj, "prediction")):
        g.connect(a.id, pa, b.id, pb)
    model = compile_graph(g, DataShape((features,), classes=2))
    return model, [n.id for n in nodes], (s1.id, s2.id)


def test_r09_a_wire_read_twice_gets_the_sum_once_both_readers_are_stepped_back():
    from nncore import optim

    model, (inp, dense), (s1, s2) = sums_into_an_objective(2, [("dense", {"units": 1,
                                                                           "bias": False})])
    model._modules[dense].weight.data[...] = [[1.0, 1.0]]
    opt = optim.SGD(model.parameters(), lr=0.1)
    st = StepThrough(model, opt, np.array([[1.0, 2.0]]), np.array([0]), size=1)
    while st.can_forward:
        st.forward_step()
    assert float(st.value(dense)[0, 0]) == 3.0 and st.batch_loss == 6.0
    first = [st.backward_step() for _ in range(3)]  # the Objective, the Add, one Sum
    assert first[0] == model.loss_id and first[2] in (s1, s2)
    assert st.gradient(dense) is None  # the other Sum has not sent its share yet
    st.backward_step()
    assert {s1, s2} <= set(st.backward_known)
    np.testing.assert_array_equal(st.gradient(dense), [[2.0]])  # 1 + 1
    st.run_to_end()
    np.testing.assert_array_equal(st.parameter_gradients()[f"{dense}.weight"], [[2.0, 4.0]])
    st.apply_update()
    np.testing.assert_allclose(model._modules[dense].weight.data, [[0.8, 0.6]], rtol=1e-6)


def test_r02_batchnorm_statistics_shown_and_the_running_ones_updated_only_by_the_update():
    from nncore import optim

    model, (inp, bn), _ = sums_into_an_objective(1, [("batchnorm", None)])
    module = model._modules[bn]
    opt = optim.SGD(model.parameters(), lr=0.0)
    st = StepThrough(model, opt, np.array([[1.0], [3.0]]), np.array([0, 1]), size=2)
    st.run_to_end()
    np.testing.assert_allclose(st.value(bn), [[-0.999995], [0.999995]], rtol=1e-6)
    text = st.explain(bn, (1, 0))
    assert "batch mean μ[0] = 2, batch variance σ²[0] = 1 (biased, over the 2 samples)" in text
    assert "x̂[1, 0] = (x − μ) / √(σ² + ε) = (3 − 2) / 1 = 1" in text
    assert (module.running_mean[0], module.running_var[0]) == (0.0, 1.0)  # not yet
    st.apply_update()
    np.testing.assert_allclose([module.running_mean[0], module.running_var[0]], [0.2, 1.1],
                               rtol=1e-6)


def test_an_element_outside_the_output_is_named_with_the_shape():
    st = StepThrough.from_run(run_of("logistic_operators"), start=0, size=4)
    st.run_to_end()
    mm = node_by_type(st.model, "matmul")
    with pytest.raises(IndexError, match=r"element \[4, 0\] is not in the output of MatMul, of "
                                         r"shape \(4, 1\)"):
        st.explain(mm, (4, 0))
    with pytest.raises(IndexError, match=r"element \[0\] is not in the output"):
        st.explain(mm, (0,))
    with pytest.raises(IndexError, match=r"not in the prediction of Binary Cross-Entropy"):
        st.explain(st.model.loss_id, (0, 3))


def test_where_a_nan_first_appears_forward_and_backward():
    import warnings

    from nncore import optim

    model, (inp, dense, log), _ = sums_into_an_objective(
        2, [("dense", {"units": 2, "bias": False}), ("log", None)])
    model._modules[dense].weight.data[...] = [[1.0, 0.0], [-1.0, 0.0]]  # log(-x): NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        st = StepThrough(model, optim.SGD(model.parameters(), lr=0.1),
                         np.array([[1.0, 2.0]]), np.array([0]), size=1)
        assert st.first_nonfinite() is None  # nothing stepped yet
        st.forward_step()
        st.forward_step()
        assert st.first_nonfinite() is None  # the Dense's output is finite
        st.run_to_end()
    assert st.first_nonfinite() == (log, "output")
    assert np.isnan(st.value(log)[0, 1]) and np.isnan(st.batch_loss)
    # log's gradient 1/x is finite at x = −1: only the value is NaN
    assert st.first_nonfinite(gradients=True) is None
    model._modules[dense].weight.data[...] = [[1.0, 0.0], [0.0, 0.0]]  # log(0) = −inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        st.reset()
        st.run_to_end()
    assert st.first_nonfinite() == (log, "output")
    assert st.first_nonfinite(gradients=True) == (dense, "output")  # 1/0


def test_a_copy_of_a_trained_run_steps_in_its_weights_and_optimizer_state_and_leaves_it_alone():
    from nncore.stepthrough import copy_weights

    run = run_of("digits_mlp", epochs=1)
    run.trainer.fit(run.split.X_train, run.split.y_train, epochs=1)
    trained = {n: p.data.copy() for n, p in run.model.named_parameters()}
    state = {k: {s: np.array(v, copy=True) for s, v in st.items()}
             for k, st in run.optimizer.state_dict()["state"].items()}
    weights = copy_weights(run)
    st = StepThrough.from_run(run, size=4, weights=weights)
    assert st.model is not run.model and st.model.node_types is not None
    for (n, p), (_, q) in zip(run.model.named_parameters(), st.model.named_parameters()):
        assert np.array_equal(p.data, q.data) and p is not q, n
    # the copied optimizer steps the copied parameters, from the trained Adam state
    copied_params = {id(q) for q in st.model.parameters()}
    assert all(id(p) in copied_params for g in st.optimizer.param_groups for p in g["params"])
    st.run_to_end()
    update = st.apply_update()[0]
    t = int(np.asarray(st.optimizer.state_dict()["state"][0]["step"]))
    assert t == int(np.asarray(state[0]["step"])) + 1 > 1  # continues the trained step count
    assert f"t = {t}" in update.term("m̂_t").formula
    for n, p in run.model.named_parameters():  # the run is as it was
        assert np.array_equal(p.data, trained[n]), n
    for k, s in run.optimizer.state_dict()["state"].items():
        for name, v in s.items():
            assert np.array_equal(np.asarray(v), state[k][name]), (k, name)
    assert not np.array_equal(next(iter(st.model.parameters())).data,
                              next(iter(run.model.parameters())).data)


def test_constant_one_hot_and_targets_explain_themselves_with_their_numbers():
    g, ids = every_operator_graph()
    run = TrainingRun(g)
    labels = run.split.y_train
    start = int(np.flatnonzero(labels == 2)[0])  # a sample of class 2 first
    st = StepThrough.from_run(run, start=start, size=4)
    st.run_to_end()
    batch = labels[start:start + 4]
    # One-hot: where each row's 1 is, the selected element, no gradient into labels
    text = st.explain(ids["oh"], (0, 2))
    assert "labels (4,) → (4, 3)" in text
    assert "row 0 has a 1 in column y_0 = 2 (class 2 of 3): [0, 0, 1]" in text
    assert "y[0, 2] = 1: column 2 is the label" in text
    k = int(batch[1])
    text = st.explain(ids["oh"], (1, (k + 1) % 3))
    assert f"row 1 has a 1 in column y_1 = {k}" in text
    assert f"y[1, {(k + 1) % 3}] = 0: column {(k + 1) % 3} is not the label {k}" in text
    # Targets: the labels as float values
    text = st.explain(ids["tg"], (0, 0))
    column = ", ".join(str(int(v)) for v in batch)
    assert f"y = the labels (4,) as one column of float values (4, 1): [{column}]" in text
    assert "y[0, 0] = float(label_0) = float(2) = 2" in text
    assert st.value(ids["tg"]).dtype == np.float32 and st.value(ids["tg"])[0, 0] == 2.0
    # Constant: its value, and that its gradient is not used
    text = st.explain(ids["two"])
    assert text.startswith("y = 2: a fixed number") and "dL/dy: not used" in text
    assert st.explain(ids["zero"]).startswith("y = 0: a fixed number")
    # regression targets as they are
    g, ids = hand_written_mse()
    st = StepThrough.from_run(TrainingRun(g), start=10, size=5)
    st.run_to_end()
    t = st.value(ids["targets"])
    text = st.explain(ids["targets"], (3, 0))
    assert f"y = the targets (5, 1) as float values: [{', '.join(num(v) for v in t[:, 0])}]" in text
    assert f"y[3, 0] = target[3, 0] = {num(t[3, 0])}" in text
