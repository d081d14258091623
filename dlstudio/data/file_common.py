"""What the file datasets (dlstudio/data/files.py, file_arrays.py) share: finding the
user's file, reading and decoding it with a size limit, splitting and encoding labels,
and naming positions in error messages. The user's files are only ever read."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import numpy as np

from dlstudio.bounded import LIMITS, LimitError, read_limited, regular_file
from dlstudio.data.dataset import DatasetError
from dlstudio.data.paths import confined, resolve_data_path
from dlstudio.data.registry import OptionSpec
from dlstudio.data.split import train_test

MISSING = frozenset({"", "na", "n/a", "nan", "?", "null"})
MAX_CLASSES_AUTO = 20  # task "auto": integer targets with at most this many values are classes
SHOW = 5  # positions listed in an error message


def task_option() -> OptionSpec:
    return OptionSpec("task", "choice", "auto",
                      "auto: classification for text or few whole-number targets, otherwise regression",
                      choices=("auto", "classification", "regression"))


def encoding_option() -> OptionSpec:
    return OptionSpec("encoding", "str", "utf-8", "text encoding of the file (for example utf-8 or latin-1)")




def user_file(options: dict[str, Any], dataset: str, key: str = "path", what: str = "file") -> tuple[Path, str]:
    """(path, label for messages) of an existing file (or folder) option; a file must be a
    regular file (never a device such as /dev/zero, a pipe or a socket). Relative paths were
    made absolute by :func:`dlstudio.data.load_dataset` (against the project's folder)."""
    raw = str(options.get(key) or "").strip()
    if not raw:
        raise DatasetError(f"dataset {dataset!r} needs a {what}: set its {key} option")
    path = resolve_data_path(raw)
    if not path.exists():
        raise DatasetError(f"{raw}: no such {what}")
    if what == "folder" and not path.is_dir():
        raise DatasetError(f"{raw}: is a file, expected a folder with one sub-folder per class")
    if what != "folder" and path.is_dir():
        raise DatasetError(f"{raw}: is a folder, expected a file")
    if what != "folder":
        if path.is_symlink():  # a link may point within its own folder, never out of it (as in data folders)
            path = confined(path, path.parent, raw)
        try:
            regular_file(path, what)
        except LimitError as exc:
            raise DatasetError(str(exc)) from None
    return path, raw


def read_bytes(path: Path, label: str, limit: int | None = None) -> bytes:
    """The file's bytes, read by the bounded reader (regular files only, at most ``limit``
    bytes: :attr:`dlstudio.bounded.Limits.text_bytes` by default)."""
    limit = LIMITS.text_bytes if limit is None else limit
    try:
        data = read_limited(path, limit, "data file")
    except LimitError as exc:
        raise DatasetError(f"{label}: {str(exc).split(': ', 1)[-1]}") from None
    except OSError as exc:
        raise DatasetError(f"{label}: cannot read the file ({exc.strerror or exc})") from None
    if not data.strip():
        raise DatasetError(f"{label}: the file is empty")
    return data


def decode_text(data: bytes, encoding: str, label: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise DatasetError(f"{label}: unknown encoding {encoding!r} (try utf-8 or latin-1)") from None
    try:
        b"  ".decode(encoding)  # a codec that is not a text encoding (rot13, base64) refuses bytes -> str
    except UnicodeError:
        pass  # a text encoding that wants other bytes (utf-32)
    except LookupError:
        raise DatasetError(f"{label}: {encoding!r} is not a text encoding (try utf-8 or latin-1)") from None
    skip = len(codecs.BOM_UTF8) if codec == "utf-8" and data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skip:].decode(encoding) if skip else data.decode(encoding)
    except UnicodeDecodeError as exc:
        at = exc.start + skip
        line = data.count(b"\n", 0, at) + 1
        raise DatasetError(
            f"{label}: byte {at} (line {line}) is 0x{data[at]:02x}, which is not valid "
            f"{encoding}: save the file as UTF-8 or set the encoding option (for example latin-1)") from None


def split_labels(y: np.ndarray, test_fraction: float, seed: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, test) sample indices, stratified when possible."""
    n = len(y)
    if n < 2:
        raise DatasetError(f"{label}: {n} sample{'s' * (n != 1)}; at least 2 are needed to hold some out "
                           "for testing")
    idx = np.arange(n)
    try:
        tr, te, _, _ = train_test(idx, y, test_fraction, seed)
    except DatasetError:
        raise
    except ValueError:  # too few samples per class to stratify
        from sklearn.model_selection import train_test_split

        try:
            tr, te = train_test_split(idx, test_size=test_fraction, random_state=seed)
        except ValueError as exc:
            raise DatasetError(f"{label}: cannot hold out test_fraction {test_fraction:g} of {n} samples "
                               f"({exc})") from None
    return np.asarray(tr), np.asarray(te)


def _fmt_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def encode_labels(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Labels as int64 0..n-1 and the sorted class names (numbers sorted as numbers)."""
    classes, ids = np.unique(values, return_inverse=True)
    if classes.dtype.kind in "iufb":
        names = [_fmt_number(c) for c in classes.tolist()]
    else:
        names = [str(c) for c in classes.tolist()]
    return ids.reshape(-1).astype(np.int64), names


def few_whole_numbers(values: np.ndarray) -> bool:
    if values.dtype.kind in "iub":
        return True
    finite = values[np.isfinite(values)]
    return bool(np.all(finite == np.round(finite))) and len(np.unique(finite)) <= MAX_CLASSES_AUTO


def positions(items: list[str], count: int) -> str:
    more = f" and {count - len(items)} more" if count > len(items) else ""
    return ", ".join(items) + more
