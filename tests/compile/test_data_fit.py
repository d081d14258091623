"""The model against its data: each kind of mismatch is a problem on the node it
concerns, with a fix, and applying the fix clears it."""

from __future__ import annotations

import pytest

from dlstudio.compile import DataDescription, analyze, describe_data
from dlstudio.graph import Fix, Graph, InsertNode, SetParams, SetTraining

DIGITS = DataDescription("digits", (8, 8, 1), "classification", 10)
SPIRALS = DataDescription("spirals", (2,), "classification", 2)
SINE = DataDescription("sine", (1,), "regression", target_shape=(1,))
AUTOENCODER = DataDescription("digits", (8, 8, 1), "regression", target_shape=(8, 8, 1), reconstructs=True)
REVIEWS = DataDescription("reviews", (24,), "classification", 2, input_dtype="int32", token_count=61)
DATES = DataDescription("translation", (21,), "classification", 35, target_shape=(11,), input_dtype="int32",
                        token_count=35)


def chain(*layers: tuple[str, dict], ids: list[str] | None = None) -> Graph:
    g = Graph()
    prev = None
    for i, (type_name, params) in enumerate(layers):
        nid = ids[i] if ids else f"n{i}"
        g.add_node(type_name, params, name=nid, id=nid, pos=(0.0, 100.0 * i))
        if prev is not None:
            g.connect(prev, nid)
        prev = nid
    return g


def only_problem(g: Graph, data, **kw):
    problems = analyze(g, data, **kw).problems
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def fixed(g: Graph, problem, data, **kw):
    """Apply the problem's fix; the same problem must be gone."""
    assert problem.fix is not None, str(problem)
    changes = problem.fix.apply(g)
    if changes:
        kw = {**kw, **changes}
    after = analyze(g, data, **kw).problems
    assert problem not in after and not any(p.message == problem.message for p in after), [str(p) for p in after]
    return after, kw


def test_input_shape_then_rank_then_units_each_fixed_in_turn():
    """File > New, Input shape 2, Dense connected, on digits: three fixes make it trainable."""
    g = chain(("Input", {"shape": [2]}), ("Dense", {}), ids=["input_1", "dense_1"])
    problems = analyze(g, DIGITS).problems
    shape = next(p for p in problems if p.node_ids == ("input_1",))
    assert shape.message == "Input 'input_1' has shape (batch, 2) but digits gives (batch, 8, 8, 1)"
    assert shape.fix.label == "Set shape to (8, 8, 1)"
    assert shape.fix.edits == (SetParams("input_1", (("shape", (8, 8, 1)),)),)
    units = next(p for p in problems if p.node_ids == ("dense_1",))
    assert "gives 32 values per sample, but digits has 10 classes" in units.message
    assert units.fix.label == "Set units to 10"

    after, _ = fixed(g, shape, DIGITS)
    assert g.node("input_1").params["shape"] == [8, 8, 1]
    rank = next(p for p in after if p.node_ids[0] == "dense_1")
    assert "expects (batch, features)" in rank.message and rank.fix.label == "Insert Flatten before 'dense_1'"
    after, _ = fixed(g, rank, DIGITS)
    flatten = next(n for n in g.nodes if n.type == "Flatten")
    assert [(e.src, e.dst) for e in g.edges] == [("input_1", flatten.id), (flatten.id, "dense_1")]
    assert flatten.pos == (0.0, 50.0)  # between the two layers
    [units] = after
    fixed(g, units, DIGITS)
    assert analyze(g, DIGITS).ok and g.node("dense_1").params["units"] == 10


def test_output_units_against_the_classes():
    g = chain(("Input", {"shape": [2]}), ("Dense", {"units": 8, "activation": "relu"}),
              ("Dense", {"units": 5, "activation": "softmax"}), ids=["x", "hidden", "out"])
    problem = only_problem(g, SPIRALS)
    assert problem.node_ids == ("out",) and problem.is_error
    assert str(problem) == ("the output layer Dense 'out' gives 5 values per sample, but spirals has 2 classes: "
                            "set its units to 2")
    assert problem.fix == Fix.set_params("Set units to 2", "out", units=2)
    fixed(g, problem, SPIRALS)
    g.set_param("out", "units", 1)  # one sigmoid unit for two classes is fine with the automatic loss
    assert analyze(g, SPIRALS).ok


def test_units_behind_a_trailing_activation_are_set_on_the_dense():
    g = chain(("Input", {"shape": [2]}), ("Dense", {"units": 5}), ("Dropout", {"rate": 0.1}),
              ("Activation", {"activation": "softmax"}), ids=["x", "logits", "drop", "probs"])
    problem = only_problem(g, SPIRALS)
    assert problem.node_ids == ("probs", "logits")
    assert problem.fix.label == "Set units of 'logits' to 2"
    fixed(g, problem, SPIRALS)


def test_one_label_per_sample_needs_one_vector_per_sample():
    g = chain(("Input", {"shape": [24], "dtype": "int32"}), ("Embedding", {"input_dim": 61, "output_dim": 8}),
              ("LSTM", {"units": 4, "return_sequences": True}), ("Dense", {"units": 2}),
              ids=["x", "emb", "lstm", "out"])
    problem = only_problem(g, REVIEWS)
    assert problem.node_ids == ("out",) and "one label per sample" in problem.message
    assert problem.fix.edits == (InsertNode("Flatten", (), "lstm", 0, "out", 0),)
    fixed(g, problem, REVIEWS)


def test_embedding_smaller_than_the_vocabulary():
    g = chain(("Input", {"shape": [24], "dtype": "int32"}), ("Embedding", {"input_dim": 50, "output_dim": 8}),
              ("GlobalAveragePooling1D", {}), ("Dense", {"units": 1, "activation": "sigmoid"}),
              ids=["x", "emb", "pool", "out"])
    problem = only_problem(g, REVIEWS)
    assert problem.node_ids == ("emb",)
    assert "input_dim 50" in problem.message and "61 tokens" in problem.message
    assert problem.fix.label == "Set input_dim to 61"
    fixed(g, problem, REVIEWS)


def test_token_ids_into_a_float_input_is_a_warning_with_a_fix():
    g = chain(("Input", {"shape": [24]}), ("Embedding", {"input_dim": 61, "output_dim": 8}),
              ("GlobalAveragePooling1D", {}), ("Dense", {"units": 1, "activation": "sigmoid"}))
    problem = only_problem(g, REVIEWS)
    assert problem.severity == "warning" and problem.fix.label == "Set dtype to int32"
    fixed(g, problem, REVIEWS)


def test_sequence_labels_need_a_class_vector_per_step():
    g = chain(("Input", {"shape": [21], "dtype": "int32"}), ("Embedding", {"input_dim": 35, "output_dim": 8}),
              ("Cropping1D", {"cropping": [10, 0]}), ("LSTM", {"units": 8, "return_sequences": True}),
              ("Dense", {"units": 30, "activation": "softmax"}), ids=["x", "emb", "crop", "lstm", "out"])
    problem = only_problem(g, DATES)
    assert "gives 30 values per sample, but translation has 35 classes" in problem.message
    fixed(g, problem, DATES)
    g.set_param("crop", "cropping", [9, 0])  # 12 steps for 11 labels: no one-click fix
    problem = only_problem(g, DATES)
    assert "(batch, 12, 35)" in problem.message and "(batch, 11)" in problem.message and problem.fix is None


@pytest.mark.parametrize("loss", ["binary_crossentropy", "mse"])
def test_a_loss_that_does_not_fit_class_labels(loss):
    g = chain(("Input", {"shape": [8, 8, 1]}), ("Flatten", {}), ("Dense", {"units": 10, "activation": "softmax"}),
              ids=["x", "flat", "out"])
    problem = only_problem(g, DIGITS, loss=loss)
    assert problem.node_ids == ("out",) and loss in problem.message
    assert problem.fix.edits == (SetTraining("loss", "auto"),)
    assert problem.fix.apply(g) == {"loss": "auto"}  # not a graph edit: the caller changes the settings
    assert analyze(g, DIGITS, loss="auto").ok


def test_binary_crossentropy_on_two_classes_wants_one_unit():
    g = chain(("Input", {"shape": [2]}), ("Dense", {"units": 2, "activation": "softmax"}), ids=["x", "out"])
    problem = only_problem(g, SPIRALS, loss="binary_crossentropy")
    assert "needs one" in problem.message and problem.fix.label == "Set units to 1"
    fixed(g, problem, SPIRALS, loss="binary_crossentropy")


def test_cross_entropy_on_numeric_targets_and_regression_units():
    g = chain(("Input", {"shape": [1]}), ("Dense", {"units": 3}), ids=["x", "y"])
    problems = analyze(g, SINE, loss="sparse_categorical_crossentropy").problems
    assert {p.fix.label for p in problems} == {"Set the loss to auto (instead of sparse_categorical_crossentropy)",
                                               "Set units to 1"}
    units = next(p for p in problems if "targets of sine are (batch, 1)" in p.message)
    after, _ = fixed(g, units, SINE, loss="sparse_categorical_crossentropy")
    assert [p.fix.label for p in after] == ["Set the loss to auto (instead of sparse_categorical_crossentropy)"]


def test_an_autoencoder_must_reproduce_its_input():
    g = chain(("Input", {"shape": [8, 8, 1]}), ("Flatten", {}), ("Dense", {"units": 16}), ("Dense", {"units": 64}),
              ids=["image", "flat", "code", "decoded"])
    problem = only_problem(g, AUTOENCODER, loss="mse")
    assert problem.message == ("the autoencoder's output Dense 'decoded' gives (batch, 64) but must reproduce "
                               "its input (batch, 8, 8, 1)")
    assert problem.fix.label == "Add Reshape to (8, 8, 1) after 'decoded'"
    fixed(g, problem, AUTOENCODER, loss="mse")
    reshape = next(n for n in g.nodes if n.type == "Reshape")
    assert reshape.params == {"target_shape": [8, 8, 1]} and g.sinks() == [reshape]


def test_a_window_larger_than_its_input_gets_padding_same():
    g = chain(("Input", {"shape": [4, 4, 1]}), ("Conv2D", {"filters": 2, "kernel_size": 5}), ids=["x", "conv"])
    problem = only_problem(g, None)
    assert problem.fix.label == "Set padding to same"
    fixed(g, problem, None)


def test_a_discriminator_is_checked_on_its_input_only():
    g = chain(("Input", {"shape": [8, 8, 1]}), ("Flatten", {}), ("Dense", {"units": 1}))
    assert analyze(g, DIGITS, targets=False).ok
    assert not analyze(g, DIGITS).ok  # as a classifier, one unit for ten classes is wrong
    g.set_param("n0", "shape", [4])
    assert only_problem(g, DIGITS, targets=False).fix.label == "Set shape to (8, 8, 1)"


def test_several_inputs_or_outputs_cannot_train_on_one_dataset():
    g = chain(("Input", {"shape": [2]}), ("Dense", {"units": 2}), ids=["a", "out"])
    g.add_node("Input", {"shape": [2]}, name="b", id="b")
    g.connect("b", "out", dst_port=0)  # a second edge into one input is its own problem; not the point here
    problems = analyze(g, SPIRALS).problems
    assert any(p.message.startswith("training on spirals needs exactly one Input") for p in problems)
    g = chain(("Input", {"shape": [2]}), ("Dense", {"units": 2}), ids=["x", "one"])
    g.add_node("Dense", {"units": 2}, name="two", id="two")
    g.connect("x", "two")
    problem = only_problem(g, SPIRALS)
    assert problem.node_ids == ("one", "two") and "exactly one output layer" in problem.message


def test_problems_with_fixes_stay_hashable_and_examples_of_describe_data():
    from dlstudio.data import load_dataset

    g = chain(("Input", {"shape": [2]}), ("Dense", {"units": 5}))
    assert len({*analyze(g, DIGITS).problems}) == 2
    digits = describe_data(load_dataset("digits"))
    assert digits == DataDescription("digits", (8, 8, 1), "classification", 10)
    assert describe_data(digits) is digits
    image = describe_data(load_dataset("digits", {"target": "image"}))
    assert image.reconstructs and image.target_shape == (8, 8, 1) and image.task == "regression"
    text = describe_data(load_dataset("reviews", {"samples": 200, "length": 24}))
    assert text.input_dtype == "int32" and text.token_count >= 2


def test_the_engine_refuses_with_the_problem_the_editor_shows():
    from dlstudio.data import load_dataset
    from dlstudio.training.engine import TrainingError, check_trainable

    data = load_dataset("spirals", {"samples": 100})
    g = chain(("Input", {"shape": [2]}), ("Dense", {"units": 5}), ids=["x", "out"])
    [problem] = analyze(g, data).problems
    with pytest.raises(TrainingError) as info:
        check_trainable(g, data)
    assert str(info.value) == str(problem) and info.value.problems == [str(problem)]
    g.set_param("x", "shape", [64])
    g.set_param("out", "units", 10)
    with pytest.raises(TrainingError, match="the loss binary_crossentropy is for two classes, but digits has 10"):
        check_trainable(g, load_dataset("digits", {"flatten": True}), "binary_crossentropy")


def test_one_hot_labels_are_one_label_per_sample_and_unnamed_classes_are_not_guessed():
    import numpy as np

    from dlstudio.data import Dataset

    x = np.zeros((6, 2), np.float32)
    one_hot = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    data = Dataset("tri", x, one_hot, x, one_hot, "classification", ["a", "b", "c"])
    assert describe_data(data).target_shape == ()
    g = chain(("Input", {"shape": [2]}), ("Dense", {"units": 3, "activation": "softmax"}))
    assert analyze(g, data).ok
    unnamed = DataDescription("unnamed", (2,), "classification", 0)
    assert analyze(g, unnamed).ok  # no class count to compare with
