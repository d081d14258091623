"""The Python export embeds project text only as literals (issue 15, item 1).

A project name such as ``X\"\"\"`` + newline + ``import os; os.system(...)`` used to land in the
script's docstring and run with ``python model.py --help``. Here hypothesis draws names, notes,
dataset names and options and layer names (quotes, newlines, backslashes, braces, comment signs,
Python keywords) and an AST check proves that the generated script is the benign one with only
the *contents* of its string literals and the spelling of its local variables changed: the same
statements, the same calls, the same comments, and every text back out of its literal exactly.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlstudio import RESOURCES
from dlstudio.export.formats import ExportError
from dlstudio.export.python_script import check_script, python_script
from dlstudio.project import load_project

PAYLOADS = [
    'X"""\nimport os; os.system("touch pwned")\nr"""',
    "X'''\nimport os\n'''",
    "\\\n__import__('os').system('id')  # {}",
    "}{{}}{0}{title}%s%(prog)s",
    "\u2028\u2029\x00\r\n#",
]
texts = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=60),
                  st.lists(st.sampled_from(PAYLOADS + ['"', "'", "\\", "\n", "#", "{", "}"]), max_size=6).map("".join))
#: Layer names: the graph allows [A-Za-z0-9_.-]; keywords, builtins and the script's own names included.
layer_names = st.one_of(
    st.sampled_from(["import", "exec", "__import__", "keras", "model", "x", "def", "None", "print", "_", "1",
                     "build_model", "TITLE", "a.b-c", "-", "..."]),
    st.from_regex(r"[A-Za-z0-9_.\-]{1,40}", fullmatch=True))

EXAMPLE = Path(RESOURCES) / "examples" / "xor_mlp.dlsproj"


@pytest.fixture(scope="module")
def project():
    return load_project(EXAMPLE)


def script(project, names=None, title="xor", source="xor.dlsproj, run 1", notes="", dataset="xor",
           options=None, script_name="model.py", settings_=None):
    graph = project.graph.copy()
    for i, node in enumerate(graph.nodes if names else []):
        graph.rename(node.id, f"tmp{i}")
    for node, name in zip(graph.nodes, names or []):
        graph.rename(node.id, name)
    return python_script(graph, settings=settings_ or {"seed": 3, "epochs": 2}, dataset_name=dataset,
                         dataset_options=options if options is not None else {"noise": 0.1}, loss="binary_crossentropy",
                         metrics=["accuracy"], title=title, source=source, script_name=script_name, notes=notes)


def comments(text: str) -> list[str]:
    return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]


def canonical(text: str) -> str:
    """The script's syntax tree with every string literal emptied and the local names of
    build_model() numbered in order: what the code *does*, whatever the text in it."""
    tree = ast.parse(text)
    build = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build_model")
    local: dict[str, str] = {}
    for node in ast.walk(build):
        if isinstance(node, ast.Name) and node.id != "keras":
            node.id = local.setdefault(node.id, f"v{len(local)}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    for node in ast.walk(tree):  # the DATASET_OPTIONS dict: its keys and values are data, not code
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DATASET_OPTIONS":
            node.value = ast.Constant(None)
    return ast.dump(tree, include_attributes=False)


def constants(text: str) -> dict[str, object]:
    tree = ast.parse(text)
    return {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body
            if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}


def layer_name_literals(text: str) -> list[str]:
    tree = ast.parse(text)
    build = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build_model")
    return [kw.value.value for node in ast.walk(build) if isinstance(node, ast.Call)
            for kw in node.keywords if kw.arg == "name" and isinstance(kw.value, ast.Constant)
            and kw.value.value not in ("",) and node.func.__class__ is ast.Attribute
            and getattr(node.func, "attr", "") in ("Input", "Dense")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=texts, source=texts, notes=texts, dataset=texts, option_key=texts, option_value=texts,
       names=st.lists(layer_names, min_size=3, max_size=3, unique=True), script_name=texts)
def test_project_text_enters_the_script_only_as_literals(project, title, source, notes, dataset, option_key,
                                                         option_value, names, script_name):
    benign = script(project)
    hostile = script(project, names, title, source, notes, dataset, {option_key: option_value}, script_name)
    check_script(hostile)  # the generator's own check passes
    assert canonical(hostile) == canonical(benign), "the hostile text changed the code, not just a literal"
    assert comments(hostile) == comments(benign), "the hostile text reached a comment"
    assert ast.get_docstring(ast.parse(hostile)) == \
        ast.get_docstring(ast.parse(script(project, script_name=script_name))), "the docstring holds project text"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", script_name):
        assert ast.get_docstring(ast.parse(hostile)) == ast.get_docstring(ast.parse(benign))
    values = constants(hostile)
    assert (values["TITLE"], values["SOURCE"], values["NOTES"], values["DATASET"]) == (title, source, notes, dataset)
    assert values["DATASET_OPTIONS"] == {option_key: option_value}
    assert sorted(layer_name_literals(hostile)) == sorted(names)
    compile(hostile, "model.py", "exec")


def test_the_reported_payload_stays_a_string(project, tmp_path):
    payload = PAYLOADS[0]
    text = script(project, title=payload, source=payload, notes=payload)
    assert '"""\nimport os' not in text.split("TITLE =")[0]
    namespace: dict = {"__name__": "generated"}
    exec(compile(text, "model.py", "exec"), namespace)  # noqa: S102 - defines functions only: nothing may run
    assert namespace["TITLE"] == payload and not (tmp_path / "pwned").exists()


def test_settings_from_a_run_enter_as_numbers_or_known_words(project):
    text = script(project, settings_={"seed": 1, "adversarial": "fgsm\nimport os", "epochs": 2})
    assert comments(text) == comments(script(project, settings_={"seed": 1, "adversarial": "x y", "epochs": 2}))
    assert "import os" not in text


def test_the_generators_check_refuses_a_script_with_extra_statements(project):
    text = script(project)
    with pytest.raises(ExportError, match="failed its own check"):
        check_script(text.replace("import keras\n", "import keras\nimport os\n"))
    with pytest.raises(ExportError, match="failed its own check"):
        check_script(text.replace("SEED = 3", "SEED = __import__('os').getpid()"))
    with pytest.raises(ExportError, match="failed its own check"):
        check_script(text.replace('"""The model of', '"""Injected\n"""\nimport os\n"""The model of', 1))
