"""A standalone Python script for a trained run: the model in the Keras functional
API (same layer classes, settings and names as the app builds), the same dataset
and the same training settings.

The model code is plain Keras. The data comes through ``dlstudio.data`` with the
run's dataset, options and seed, because the app's datasets (generated toy sets,
scikit-learn sets with the app's split and normalisation, the user's own CSV
files and image folders) are only reproduced exactly by the same code; the
script's header says so, and ``load_data()`` is the one function to replace to
train on other arrays.
"""

from __future__ import annotations

import inspect
import keyword
import pprint
import re
from typing import Any

from dlstudio import __version__
from dlstudio.catalog import check_params, get_spec
from dlstudio.catalog.registry import keras_kwargs
from dlstudio.compile.build import model_io
from dlstudio.compile.infer import analyze
from dlstudio.export.formats import ExportError
from dlstudio.graph import Graph

_INDENT = "    "


def _identifier(name: str, taken: set[str]) -> str:
    """A Python name for a layer's tensor made from its name: ASCII letters, digits and
    underscores only, whatever the name holds (the name itself goes in as ``repr``)."""
    base = re.sub(r"[^0-9A-Za-z_]", "_", name).strip("_").lower()[:60] or "layer"
    if base[0].isdigit():
        base = f"layer_{base}"
    if keyword.iskeyword(base) or base in ("keras", "np", "x", "model", "inputs", "outputs"):
        base = f"{base}_"
    out, i = base, 2
    while out in taken:
        out, i = f"{base}{i}", i + 1
    taken.add(out)
    return out


def _literal(value: Any, indent: int = 0) -> str:
    text = pprint.pformat(value, width=100 - indent, sort_dicts=False)
    return text.replace("\n", "\n" + " " * indent)


def _defaults(cls: Any) -> dict[str, Any]:
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return {}
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def _same(value: Any, default: Any) -> bool:
    """Whether ``value`` means what Keras' ``default`` means (``1`` and ``(1, 1)`` for strides)."""
    if isinstance(default, (tuple, list)) and isinstance(value, int) and not isinstance(value, bool):
        return all(d == value for d in default)
    if isinstance(value, (tuple, list)) and isinstance(default, (tuple, list)):
        return list(value) == list(default)
    try:
        return type(value) is type(default) and bool(value == default)
    except Exception:  # noqa: BLE001 - arrays and other odd values
        return False


def layer_call(type_name: str, params: dict[str, Any], name: str | None, indent: int, lead: int = 0) -> str:
    """``keras.layers.Conv2D(8, ...)`` source for a node, with the settings that differ from Keras' defaults."""
    spec = get_spec(type_name)
    cls = spec.cls
    kwargs = keras_kwargs(type_name, params)
    defaults = _defaults(cls)
    parts = []
    for key, value in kwargs.items():
        if key == "layer" and "inner" in params:
            inner = layer_call(params["layer"], params["inner"], None, indent + 4)
            parts.append(f"layer={inner}")
            continue
        if (key in defaults and _same(value, defaults[key])) or (key == "trainable" and value is True):
            continue
        parts.append(f"{key}={_literal(value, indent + 4 + len(key) + 1)}")
    if name is not None:
        parts.append(f"name={name!r}")
    one_line = f"keras.layers.{cls.__name__}({', '.join(parts)})"
    if len(one_line) + indent + lead <= 96 and "\n" not in one_line:
        return one_line
    pad = " " * (indent + 4)
    return f"keras.layers.{cls.__name__}(\n" + ",\n".join(pad + p for p in parts) + f",\n{' ' * indent})"


def model_source(graph: Graph, model_name: str = "model") -> str:
    """The body of ``build_model()``: one line per layer in the graph's computation order."""
    analysis = analyze(graph)
    if analysis.errors:
        listing = "; ".join(str(p) for p in analysis.errors[:3])
        raise ExportError(f"the graph does not compile, so there is no model to write as Python: {listing}")
    inputs, outputs = model_io(graph, analysis)
    taken: set[str] = set()
    var: dict[str, str] = {}
    lines = []
    shared = {n.params.get("shares") for n in graph.nodes if n.params.get("shares")}
    layer_vars: dict[str, str] = {}  # a layer called by several nodes (shares) is made once
    for nid in analysis.order:
        node = graph.node(nid)
        spec = get_spec(node.type)
        params, _ = check_params(node.type, node.params)
        v = var[nid] = _identifier(node.name, taken)
        if spec.call == "input":
            lines.append(f"{v} = keras.Input(shape={tuple(params['shape'])!r}, dtype={params['dtype']!r}, "
                         f"name={node.name!r})")
            continue
        ports = spec.input_ports(params)
        edges = {e.dst_port: e for e in graph.in_edges(nid)}
        args = [_tensor(var, graph, edges[i]) if i in edges else None for i in range(len(ports))]
        owner = params.get("shares") or (node.name if node.name in shared else None)
        if owner is None:
            layer = layer_call(node.type, params, node.name, 0, lead=len(_INDENT) + len(v) + 3 + 12)
        else:
            if owner not in layer_vars:
                layer_vars[owner] = _identifier(f"{owner}_layer", taken)
                lines.append(f"{layer_vars[owner]} = {layer_call(node.type, params, owner, 0)}")
            layer = layer_vars[owner]
        pos, kw = spec.call_arguments(params, args)
        call = "(" + ", ".join([_call_source(a) for a in pos] + [f"{k}={_call_source(a)}" for k, a in kw.items()]) + ")"
        n_out = len(spec.output_ports(params))
        target = v if n_out == 1 else ", ".join(f"{v}_{i}" if i else v for i in range(n_out))
        taken.update(f"{v}_{i}" for i in range(1, n_out))  # the first output keeps the plain name
        lines.append(f"{target} = {layer}{call}")
    ins = [var[n] for n in inputs]
    outs = [var[n] for n in outputs]
    lines.append(f"return keras.Model(inputs={ins[0] if len(ins) == 1 else '[' + ', '.join(ins) + ']'}, "
                 f"outputs={outs[0] if len(outs) == 1 else '[' + ', '.join(outs) + ']'}, name={model_name!r})")
    return "\n".join(_INDENT + ln.replace("\n", "\n" + _INDENT) for ln in lines)


def _call_source(value: Any) -> str:
    """A call argument: a variable name (a str), a list of them, or a literal setting."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return f"[{', '.join(_call_source(v) for v in value)}]"
    return repr(value)


def _tensor(var: dict[str, str], graph: Graph, edge: Any) -> str:
    base = var[edge.src]
    return base if edge.src_port == 0 else f"{base}_{edge.src_port}"


def _object_source(obj: Any, module: str) -> str:
    """Source for a loss/metric: a name, or a Keras object with its telling settings."""
    if isinstance(obj, str):
        return repr(obj)
    config = obj.get_config() if hasattr(obj, "get_config") else {}
    keep = {k: config[k] for k in ("from_logits", "threshold", "thresholds", "k", "name")
            if k in config and config[k] is not None}
    if keep.get("name") and keep["name"] == _snake(type(obj).__name__):
        keep.pop("name")
    args = ", ".join(f"{k}={v!r}" for k, v in keep.items())
    return f"keras.{module}.{type(obj).__name__}({args})"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def training_source(settings: dict[str, Any], loss: Any, metrics: list[Any]) -> dict[str, str]:
    """The pieces of the training code: optimizer, loss, metrics, callbacks."""
    name = settings.get("optimizer", "adam")
    lr = float(settings.get("learning_rate", 1e-3))
    classes = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adamw": "AdamW", "adagrad": "Adagrad",
               "nadam": "Nadam"}
    momentum = float(settings.get("momentum", 0.0) or 0.0)
    extra = f", momentum={momentum!r}" if name in ("sgd", "rmsprop") and momentum else ""
    schedule = settings.get("lr_schedule", "constant")
    decay = float(settings.get("lr_decay", 0.5))
    lr_expr = "LEARNING_RATE"
    callbacks = []
    prelude = ""
    if schedule == "cosine":
        prelude = ("\n    n_fit = len(x_train) - int(len(x_train) * VALIDATION_SPLIT)\n"
                   "    steps = max(1, args.epochs * math.ceil(n_fit / BATCH_SIZE))")
        lr_expr = "keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)"
    elif schedule == "step":
        every = int(settings.get("lr_step_epochs", 10))
        callbacks.append(f"keras.callbacks.LearningRateScheduler(lambda epoch, lr: LEARNING_RATE * "
                         f"{decay!r} ** (epoch // {every}))")
    elif schedule == "plateau":
        callbacks.append(f"keras.callbacks.ReduceLROnPlateau(factor={decay!r}, patience=3, "
                         f"min_lr=LEARNING_RATE * 1e-4)")
    patience = settings.get("early_stopping_patience")
    if patience:
        monitor = "val_loss" if float(settings.get("validation_split", 0) or 0) > 0 else "loss"
        callbacks.append(f"keras.callbacks.EarlyStopping(monitor={monitor!r}, patience={int(patience)}, "
                         f"restore_best_weights={bool(settings.get('restore_best_weights', True))})")
    return {
        "optimizer": f"keras.optimizers.{classes.get(name, 'Adam')}(learning_rate={lr_expr}{extra})",
        "lr": repr(lr),
        "loss": _object_source(loss, "losses"),
        "metrics": "[" + ", ".join(_object_source(m, "metrics") for m in metrics) + "]",
        "prelude": prelude,
        "callbacks": "[" + "".join(f"\n        {c}," for c in callbacks) + ("\n    ]" if callbacks else "]"),
    }


def _safe_word(text: Any, default: str) -> str:
    """``text`` where it is a plain word (for comments and the docstring), else ``default``."""
    text = str(text)
    return text if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", text) else default


def python_script(graph: Graph, *, settings: dict[str, Any], dataset_name: str, dataset_options: dict[str, Any],
                  loss: Any, metrics: list[Any], title: str, source: str, script_name: str = "model.py",
                  notes: str = "", data_folder: str | None = None) -> str:
    """The whole script as text. Text from the project or the run (its name, the layer
    names, the dataset and its options, the settings) enters the code only as Python
    literals made by ``repr`` (TITLE, SOURCE, NOTES, DATASET, ``name=...``) or as numbers made by
    ``int`` / ``float``: never in the docstring, a comment or a statement of its own."""
    t = training_source(settings, loss, metrics)
    seed = int(settings.get("seed", 0))
    script_name = _safe_word(script_name, "model.py")
    comments = []
    if settings.get("adversarial", "none") not in ("none", None):
        method = _safe_word(settings["adversarial"], "adversarial").upper()
        comments.append(f"# The run mixed {method} adversarial examples into its batches; "
                     "this script trains on the clean data only.")
    if settings.get("mixed_precision"):
        comments.append('keras.mixed_precision.set_global_policy("mixed_float16")  # as the run trained')
    math_import = "\nimport math" if t["prelude"] else ""
    notes_text = ("\n" + "\n".join(comments) + "\n") if comments else ""
    text = _TEMPLATE.format(
        version=__version__, script_name=script_name, math_import=math_import, title=repr(str(title)),
        source=repr(str(source)), project_notes=repr(str(notes)), dataset=repr(str(dataset_name)),
        options=_literal(dataset_options, 18), data_folder=repr(None if data_folder is None else str(data_folder)),
        seed=seed,
        epochs=int(settings.get("epochs", 10)), batch_size=int(settings.get("batch_size", 32)), lr=t["lr"],
        validation_split=repr(float(settings.get("validation_split", 0.0) or 0.0)),
        model=model_source(graph), loss=t["loss"], notes=notes_text, prelude=t["prelude"],
        optimizer=t["optimizer"], metrics=t["metrics"], callbacks=t["callbacks"])
    check_script(text)
    return text


#: The module-level names the script defines, in order: constants, then functions.
CONSTANTS = ("TITLE", "SOURCE", "NOTES", "DATASET", "DATASET_OPTIONS", "DATA_FOLDER", "SEED", "EPOCHS", "BATCH_SIZE",
             "LEARNING_RATE", "VALIDATION_SPLIT")
FUNCTIONS = ("build_model", "load_data", "make_loss", "main")


def check_script(text: str) -> None:
    """Parse the generated script and check that it holds exactly the statements the generator
    writes (its docstring, three imports, the constants as plain literals, the four functions,
    the ``__main__`` guard; ``build_model`` only layer assignments and one return). Raises
    ExportError otherwise: something from the project escaped its literal."""
    import ast

    def refuse(why: str) -> ExportError:
        return ExportError(f"the generated Python script failed its own check ({why}); nothing was written. "
                           "This is a bug in DL Studio")

    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise refuse(f"line {exc.lineno}: {exc.msg}") from None
    body = list(tree.body)
    doc = body.pop(0) if body else None
    if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
            and isinstance(doc.value.value, str) and doc.value.value.startswith(_DOC_START)):
        raise refuse("its docstring is not the generator's")
    imports = [n.names[0].name for n in body if isinstance(n, ast.Import) and len(n.names) == 1]
    if imports not in (["argparse", "keras"], ["argparse", "math", "keras"]):
        raise refuse(f"unexpected imports {imports}")
    body = body[len(imports):]
    assigned = []
    for node in body[:len(CONSTANTS)]:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise refuse(f"line {node.lineno}: a statement where a constant belongs")
        try:
            ast.literal_eval(node.value)
        except ValueError:
            raise refuse(f"line {node.lineno}: {node.targets[0].id} is not a literal") from None
        assigned.append(node.targets[0].id)
    if tuple(assigned) != CONSTANTS:
        raise refuse(f"unexpected constants {assigned}")
    rest = body[len(CONSTANTS):]
    functions = [n.name for n in rest if isinstance(n, ast.FunctionDef)]
    if tuple(functions) != FUNCTIONS or len(rest) != len(FUNCTIONS) + 1 or not isinstance(rest[-1], ast.If):
        raise refuse("unexpected top-level statements")
    build = rest[0]
    if not all(isinstance(n, ast.Assign) for n in build.body[:-1]) or not isinstance(build.body[-1], ast.Return):
        raise refuse("build_model() holds more than layer assignments")


_DOC_START = "The model of a DL Studio run as a standalone Keras script"
_TEMPLATE = '''#!/usr/bin/env python3
"""The model of a DL Studio run as a standalone Keras script (TITLE and SOURCE below name them,
NOTES holds the project's notes).

Generated by DL Studio {version}.

- build_model() rebuilds the network with the Keras functional API: the same layer
  classes, settings and names as in the app (only settings that differ from Keras'
  defaults are written out).
- load_data() loads the same dataset as the app (DATASET below, with the same options and
  split seed) through DL Studio's data package (dlstudio.data), so it needs DL Studio installed
  (pip install dlstudio). Replace load_data() to train on your own arrays; the
  model code needs only Keras.
- main() compiles and trains with the run's settings: optimizer, learning rate and
  its schedule, loss, metrics, batch size, epochs, validation split, early stopping
  and seed.

Usage:
    python {script_name} [--epochs N] [--samples N] [--save model.keras] [--weights FILE]

--epochs overrides the number of epochs, --samples trains on the first N training
samples only (a quick try), --save writes the trained model, --weights starts from
trained weights (e.g. the run's model.weights.h5).
"""

import argparse{math_import}

import keras

TITLE = {title}
SOURCE = {source}
NOTES = {project_notes}
DATASET = {dataset}
DATASET_OPTIONS = {options}
DATA_FOLDER = {data_folder}  # where relative data paths start (the project's folder), as in the app
SEED = {seed}
EPOCHS = {epochs}
BATCH_SIZE = {batch_size}
LEARNING_RATE = {lr}
VALIDATION_SPLIT = {validation_split}


def build_model():
{model}


def load_data():
    """(x_train, y_train, x_test, y_test) as the app prepared them for this run."""
    from dlstudio.data import load_dataset
    from dlstudio.data.prepare import labels_for_loss

    data = load_dataset(DATASET, DATASET_OPTIONS, seed=SEED, base=DATA_FOLDER)
    loss = make_loss()
    y_train, y_test = data.y_train, data.y_test
    if data.task == "classification":
        y_train = labels_for_loss(y_train, loss, data.num_classes)
        y_test = labels_for_loss(y_test, loss, data.num_classes)
    return data.x_train, y_train, data.x_test, y_test


def make_loss():
    return {loss}


def main(argv=None):
    parser = argparse.ArgumentParser(description="The model of a DL Studio run as a standalone Keras script "
                                                 "(TITLE and SOURCE in it name the project and the run).")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs (default {{EPOCHS}})")
    parser.add_argument("--samples", type=int, help="train on the first N training samples only")
    parser.add_argument("--save", help="write the trained model to this .keras file")
    parser.add_argument("--weights", help="load these weights before training (a .weights.h5 file)")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(SEED){notes}
    model = build_model()
    model.summary()
    if args.weights:
        model.load_weights(args.weights)
    x_train, y_train, x_test, y_test = load_data()
    if args.samples:
        x_train, y_train = x_train[: args.samples], y_train[: args.samples]{prelude}
    model.compile(
        optimizer={optimizer},
        loss=make_loss(),
        metrics={metrics},
    )
    model.fit(
        x_train, y_train, batch_size=BATCH_SIZE, epochs=args.epochs,
        validation_split=VALIDATION_SPLIT, shuffle=True,
        callbacks={callbacks},
    )
    results = model.evaluate(x_test, y_test, batch_size=max(BATCH_SIZE, 256), return_dict=True, verbose=0)
    print("test " + "  ".join(f"{{k}} {{v:.4f}}" for k, v in results.items()))
    if args.save:
        model.save(args.save)
        print(f"saved {{args.save}}")


if __name__ == "__main__":
    main()
'''
