"""The catalog on disk: the same as the one derived from Keras, read without importing Keras,
derived again when Keras, DL Studio or the deriving code changes, and ignored when damaged."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dlstudio.catalog import catalog, disk
from dlstudio.catalog import registry


def test_the_cached_catalog_equals_the_derived_one():
    catalog()  # derived or read, and kept on disk
    assert disk.catalog_file().is_file()
    cached = disk.load()
    derived = registry.derive_catalog()
    assert cached is not None
    assert list(cached) == list(derived)  # palette order too
    for name in derived:
        assert cached[name] == derived[name], name
    assert cached["Dense"].cls is derived["Dense"].cls  # the class resolves to Keras' own


def test_a_new_keras_or_dlstudio_version_derives_it_again(monkeypatch):
    catalog()
    key = disk.catalog_key()
    monkeypatch.setattr(disk, "package_version", lambda name: "99.0.0")
    assert disk.catalog_key() != key
    assert disk.load() is None  # no file for that Keras yet
    monkeypatch.undo()
    monkeypatch.setattr(disk, "__version__", "99.0.0")
    assert disk.catalog_key() != key


@pytest.mark.parametrize("damage", [
    b"", b"{not json", b"[]", b'{"format": 1, "layers": []}',
    b'{"format": 1, "layers": [{"type": "Dense", "oops": 1}]}',
    b'{"format": 1, "layers": [{"type": {"set": [1]}}]}',
    b'{"format": 99, "layers": []}',
])
def test_a_damaged_cache_is_ignored_and_replaced(monkeypatch, tmp_path, damage):
    monkeypatch.setenv("DLSTUDIO_CACHE_DIR", str(tmp_path))
    path = disk.catalog_file()
    path.write_bytes(damage)
    assert disk.load() is None
    monkeypatch.setattr(registry, "_catalog", None)
    fresh = registry.catalog()
    assert "Dense" in fresh
    assert disk.load() == fresh  # the damaged file was replaced by the derived catalog
    assert json.loads(path.read_text())["format"] == disk.FORMAT


def test_an_unwritable_cache_folder_only_means_no_cache(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DLSTUDIO_CACHE_DIR", str(blocker / "cache"))
    assert disk.save(catalog()) is None
    assert disk.load() is None


def test_with_a_warm_cache_the_editor_checks_layers_without_keras():
    catalog()  # the cache of this Keras exists now
    code = ("import sys\n"
            "from dlstudio.catalog import cached_catalog, check_params, categories\n"
            "specs = cached_catalog()\n"
            "assert specs is not None and 'Conv2D' in specs\n"
            "params, errors = check_params('Dense', {'units': -3})\n"
            "assert errors and params['use_bias'] is True, (params, errors)\n"
            "assert categories()\n"
            "print('keras' in sys.modules, 'tensorflow' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
