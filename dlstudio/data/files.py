"""Bring your own data: CSV tables, NumPy arrays, image folders and text files
as registered datasets.

The user's files are only ever read. Every problem is a DatasetError that names
the file and, where there is one, the line, column, array or image, and says
what to do about it.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dlstudio.data.dataset import Dataset, DatasetError
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.split import test_fraction_option, train_test

MISSING = frozenset({"", "na", "n/a", "nan", "?", "null"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                            ".pgm", ".pbm", ".ico"})
IGNORED_FILES = frozenset({"thumbs.db", "desktop.ini"})
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})
MAX_CLASSES_AUTO = 20  # task "auto": integer targets with at most this many values are classes
SHOW = 5  # positions listed in an error message


def _task_option() -> OptionSpec:
    return OptionSpec("task", "choice", "auto",
                      "auto: classification for text or few whole-number targets, otherwise regression",
                      choices=("auto", "classification", "regression"))


def _encoding_option() -> OptionSpec:
    return OptionSpec("encoding", "str", "utf-8", "text encoding of the file (for example utf-8 or latin-1)")


# --------------------------------------------------------------------------- shared helpers


def _file(options: dict[str, Any], dataset: str, key: str = "path", what: str = "file") -> tuple[Path, str]:
    """(path, label for messages) of an existing file (or folder) option."""
    raw = str(options.get(key) or "").strip()
    if not raw:
        raise DatasetError(f"dataset {dataset!r} needs a {what}: set its {key} option")
    path = Path(raw).expanduser()
    if not path.exists():
        raise DatasetError(f"{raw}: no such {what}")
    if what == "folder" and not path.is_dir():
        raise DatasetError(f"{raw}: is a file, expected a folder with one sub-folder per class")
    if what != "folder" and path.is_dir():
        raise DatasetError(f"{raw}: is a folder, expected a file")
    return path, raw


def _read_bytes(path: Path, label: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{label}: cannot read the file ({exc.strerror or exc})") from None
    if not data.strip():
        raise DatasetError(f"{label}: the file is empty")
    return data


def _decode(data: bytes, encoding: str, label: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise DatasetError(f"{label}: unknown encoding {encoding!r} (try utf-8 or latin-1)") from None
    skip = len(codecs.BOM_UTF8) if codec == "utf-8" and data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skip:].decode(encoding) if skip else data.decode(encoding)
    except UnicodeDecodeError as exc:
        at = exc.start + skip
        line = data.count(b"\n", 0, at) + 1
        raise DatasetError(
            f"{label}: byte {at} (line {line}) is 0x{data[at]:02x}, which is not valid "
            f"{encoding}: save the file as UTF-8 or set the encoding option (for example latin-1)") from None


def _split(y: np.ndarray, test_fraction: float, seed: int, label: str) -> tuple[np.ndarray, np.ndarray]:
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


def _encode_labels(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Labels as int64 0..n-1 and the sorted class names (numbers sorted as numbers)."""
    classes, ids = np.unique(values, return_inverse=True)
    if classes.dtype.kind in "iufb":
        names = [_fmt_number(c) for c in classes.tolist()]
    else:
        names = [str(c) for c in classes.tolist()]
    return ids.reshape(-1).astype(np.int64), names


def _few_whole_numbers(values: np.ndarray) -> bool:
    if values.dtype.kind in "iub":
        return True
    finite = values[np.isfinite(values)]
    return bool(np.all(finite == np.round(finite))) and len(np.unique(finite)) <= MAX_CLASSES_AUTO


def _positions(items: list[str], count: int) -> str:
    more = f" and {count - len(items)} more" if count > len(items) else ""
    return ", ".join(items) + more


# --------------------------------------------------------------------------- CSV


def _delimiter(option: str, text: str, label: str) -> str:
    if option != "auto":
        delim = {"tab": "\t", "\\t": "\t", "space": " "}.get(option.lower(), option)
        if len(delim) != 1:
            raise DatasetError(f"{label}: the delimiter must be one character, 'tab' or 'auto' (got {option!r})")
        return delim
    sample = text[:65536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _has_header(rows: list[list[str]]) -> bool:
    first, rest = rows[0], [[c.strip() for c in r] for r in rows[1:51]]
    if any(_is_number(c) for c in first):
        return False  # column names are not numbers
    for j, cell in enumerate(first):
        column = [r[j] for r in rest if j < len(r) and r[j].lower() not in MISSING]
        if cell.lower() not in MISSING and not _is_number(cell) and column and all(map(_is_number, column)):
            return True  # a word above numbers
    # only text columns: a header when no first-row value appears again in its column
    return all(cell and all(j >= len(r) or r[j] != cell for r in rest) for j, cell in enumerate(first))


def _read_rows(text: str, delim: str, label: str) -> tuple[list[list[str]], list[int]]:
    rows, lines, last = [], [], 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if len(row) > 1 or (row and row[0].strip()):  # cells are stripped per column later
                rows.append(row)
                lines.append(start)
    except csv.Error as exc:
        raise DatasetError(f"{label}, line {reader.line_num}: {exc}") from None
    return rows, lines


def _column_names(first: list[str]) -> list[str]:
    names, seen = [], set()
    for j, cell in enumerate(first):
        name = cell or f"column {j + 1}"
        base, k = name, 2
        while name in seen:
            name, k = f"{base} ({k})", k + 1
        seen.add(name)
        names.append(name)
    return names


class _Column:
    """One parsed CSV column: numbers (NaN where missing) or text categories."""

    def __init__(self, name: str, cells: tuple[str, ...], lines: list[int], label: str):
        self.name = name
        self.numeric = True
        try:  # fast path: numbers only ("nan" counts as missing)
            self.values = np.asarray(cells, dtype=np.float64)
            self.missing = np.isnan(self.values)
        except ValueError:
            self._parse_slowly(cells, lines, label)
        if self.numeric and np.isinf(self.values).any():
            bad = np.nonzero(np.isinf(self.values))[0]
            raise DatasetError(f"{label}, line {lines[bad[0]]}, column {name!r}: {cells[bad[0]].strip()!r} is "
                               f"not a finite number ({len(bad)} such value{'s' * (len(bad) != 1)} in the "
                               "column)")

    def _parse_slowly(self, cells: tuple[str, ...], lines: list[int], label: str) -> None:
        name = self.name
        cells = tuple(c.strip() for c in cells)
        self.missing = np.fromiter((c.lower() in MISSING for c in cells), bool, len(cells))
        present = [c for c, m in zip(cells, self.missing) if not m]
        self.values = np.full(len(cells), np.nan)
        try:
            self.values[~self.missing] = np.asarray(present, dtype=np.float64)
        except ValueError:
            numeric = np.fromiter(map(_is_number, present), bool, len(present))
            if numeric.sum() * 2 > len(present):  # mostly numbers: the rest are mistakes
                bad = [(lines[i], c) for i, c, m in zip(range(len(cells)), cells, self.missing)
                       if not m and not _is_number(c)]
                shown = [f"line {ln}: {c!r}" for ln, c in bad[:SHOW]]
                raise DatasetError(
                    f"{label}, column {name!r}: {len(bad)} value{'s' * (len(bad) != 1)} that "
                    f"{'are' if len(bad) != 1 else 'is'} not a number in a column of numbers "
                    f"({_positions(shown, len(bad))}): fix {'them' if len(bad) != 1 else 'it'}, "
                    "or leave them empty and set the missing option") from None
            self.numeric = False
            self.text = np.array(cells, dtype=object)


def _csv_table(options: dict[str, Any], label: str, path: Path):
    text = _decode(_read_bytes(path, label), options["encoding"], label)
    delim = _delimiter(options["delimiter"], text, label)
    rows, lines = _read_rows(text, delim, label)
    if not rows:
        raise DatasetError(f"{label}: the file is empty")
    rows[0] = [c.strip() for c in rows[0]]
    header = {"yes": True, "no": False}.get(options["header"])
    if header is None:
        header = _has_header(rows)
    width = len(rows[0])
    names = _column_names(rows[0]) if header else [f"column {j + 1}" for j in range(width)]
    if header:
        rows, lines = rows[1:], lines[1:]
    if not rows:
        raise DatasetError(f"{label}: a header line but no rows of data")
    ragged = [i for i, r in enumerate(rows) if len(r) != width]
    if ragged:
        i = ragged[0]
        more = f" (and {len(ragged) - 1} more such lines)" if len(ragged) > 1 else ""
        raise DatasetError(f"{label}, line {lines[i]}: {len(rows[i])} values, expected {width}{more}"
                           + ("" if options["delimiter"] != "auto" else
                              f"; the delimiter was detected as {delim!r}, set the delimiter option if wrong"))
    return names, rows, lines, delim, header


def _pick_columns(names: list[str], options: dict[str, Any], label: str) -> tuple[str, list[str]]:
    listed = ", ".join(repr(n) for n in names)
    target = options["target"].strip() or names[-1]
    if target not in names:
        raise DatasetError(f"{label}: no column {target!r} to use as the target; its columns: {listed}")
    ignored = [s.strip() for s in options["ignore"].split(",") if s.strip()]
    for name in ignored:
        if name not in names:
            raise DatasetError(f"{label}: no column {name!r} to ignore; its columns: {listed}")
    features = [n for n in names if n != target and n not in ignored]
    if not features:
        raise DatasetError(f"{label}: no feature columns left besides the target {target!r}")
    return target, features


@register("csv", "CSV table", "files",
          "A table from a CSV file: one column is the target, numeric columns become features and "
          "text columns are one-hot encoded. The file is only read.",
          (OptionSpec("path", "path", "", "the .csv (or .tsv, .txt) file"),
           OptionSpec("target", "str", "", "column to predict (empty: the last column)"),
           _task_option(),
           OptionSpec("delimiter", "str", "auto", "auto, or the character between values (',', ';', 'tab')"),
           OptionSpec("header", "choice", "auto", "whether the first line names the columns",
                      choices=("auto", "yes", "no")),
           OptionSpec("missing", "choice", "error",
                      "empty, NA, NaN or ? values: error, drop the rows, or mean (fill in the train mean; "
                      "the most frequent value for text)", choices=("error", "drop", "mean")),
           OptionSpec("standardize", "bool", True, "scale numeric features to mean 0 and deviation 1 "
                      "(fitted on the train split)"),
           OptionSpec("ignore", "str", "", "columns to leave out, separated by commas"),
           _encoding_option(),
           test_fraction_option()))
def csv_table(options: dict, seed: int) -> Dataset:
    path, label = _file(options, "csv")
    names, rows, lines, delim, header = _csv_table(options, label, path)
    target, features = _pick_columns(names, options, label)
    cells = dict(zip(names, zip(*rows)))
    columns = {n: _Column(n, cells[n], lines, label) for n in [*features, target]}

    # missing values
    missing = np.zeros((len(rows), len(columns)), bool)
    for j, col in enumerate(columns.values()):
        missing[:, j] = col.missing
    count = int(missing.sum())
    keep = np.ones(len(rows), bool)
    if count and options["missing"] == "error":
        rows_at, cols_at = np.nonzero(missing)
        where = [f"line {lines[i]} column {list(columns)[j]!r}" for i, j in zip(rows_at[:SHOW], cols_at[:SHOW])]
        raise DatasetError(f"{label}: {count} missing value{'s' * (count != 1)} (empty, NA, NaN or ?) at "
                           f"{_positions(where, count)}: set the missing option to drop (leave those rows "
                           "out) or mean (fill in the train mean)")
    if options["missing"] == "drop":
        keep = ~missing.any(axis=1)
    keep &= ~columns[target].missing  # a missing target is never filled in
    if not keep.any():
        raise DatasetError(f"{label}: no rows left after leaving out those with missing values")
    rows_kept = np.nonzero(keep)[0]

    # the target
    tcol = columns[target]
    task = options["task"]
    if task == "auto":
        task = "classification" if not tcol.numeric or _few_whole_numbers(tcol.values[keep]) else "regression"
    if task == "regression":
        if not tcol.numeric:
            raise DatasetError(f"{label}: the target column {target!r} holds text (for example "
                               f"{tcol.text[rows_kept[0]]!r}), not numbers for a regression: set task to "
                               "classification")
        y, class_names = tcol.values[keep].astype(np.float32), []
    else:
        y, class_names = _encode_labels(tcol.values[keep] if tcol.numeric else tcol.text[keep].astype(str))
        if len(class_names) < 2:
            raise DatasetError(f"{label}: the target column {target!r} has only one value "
                               f"({class_names[0]!r}); a classifier needs at least two classes")

    train, test = _split(y, options["test_fraction"], seed, label)
    train_rows = rows_kept[train]

    # the features: numbers (imputed, standardized on train) and one-hot text
    blocks, feature_names, numeric_idx, categories = [], [], [], {}
    for name in features:
        col = columns[name]
        if col.numeric:
            values = col.values.copy()
            if col.missing.any():
                fit = values[train_rows][~np.isnan(values[train_rows])]
                values[np.isnan(values)] = fit.mean() if len(fit) else 0.0
            numeric_idx.append(len(feature_names))
            blocks.append(values[:, None])
            feature_names.append(name)
            continue
        present = col.text[keep & ~col.missing].astype(str)
        cats = sorted(set(present.tolist()))
        if len(cats) > 50 and len(cats) * 2 > len(present):
            raise DatasetError(f"{label}, column {name!r}: {len(cats)} different text values (it looks like "
                               f"names or ids); one-hot encoding would add {len(cats)} features: add it to "
                               "the ignore option, or make it the target")
        text = col.text.astype(str)
        if col.missing.any():
            fit = text[train_rows][~col.missing[train_rows]]
            if len(fit):
                vals, counts = np.unique(fit, return_counts=True)
                text = np.where(col.missing, vals[np.argmax(counts)], text)
        onehot = (text[:, None] == np.array(cats, dtype=str)[None, :]).astype(np.float64)
        categories[name] = cats
        blocks.append(onehot)
        feature_names += [f"{name}={c}" for c in cats]
    x = np.concatenate(blocks, axis=1)[keep].astype(np.float32)
    x_train, x_test = x[train], x[test]
    stats = None
    if options["standardize"] and numeric_idx:
        mean = x_train[:, numeric_idx].mean(axis=0)
        std = x_train[:, numeric_idx].std(axis=0)
        std[std == 0] = 1.0
        x_train[:, numeric_idx] = (x_train[:, numeric_idx] - mean) / std
        x_test[:, numeric_idx] = (x_test[:, numeric_idx] - mean) / std
        stats = {"features": [feature_names[i] for i in numeric_idx], "mean": mean.tolist(), "std": std.tolist()}

    meta = {"source": "csv", "path": str(path), "delimiter": delim, "header": header, "columns": names,
            "target": target, "features": features, "categories": categories, "missing_values": count,
            "dropped_rows": int(len(rows) - keep.sum()), "standardize": stats}
    return Dataset(path.name, x_train, y[train], x_test, y[test], task, class_names,
                   f"{path.name}: {len(y)} rows, {len(features)} columns predicting {target!r}",
                   kind="table", feature_names=feature_names, meta=meta)


# --------------------------------------------------------------------------- NumPy


def _load_array(path: Path, label: str) -> np.ndarray:
    _check_magic(path, label, NPY_MAGIC, ".npy")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DatasetError(_numpy_problem(label, exc)) from None
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{label}: not a NumPy .npy file ({exc})") from None


NPY_MAGIC, NPZ_MAGIC = b"\x93NUMPY", b"PK\x03\x04"


def _check_magic(path: Path, label: str, magic: bytes, kind: str) -> None:
    """Refuse anything but a NumPy file before np.load looks at it (it would try pickle)."""
    try:
        with path.open("rb") as f:
            head = f.read(len(magic))
    except OSError as exc:
        raise DatasetError(f"{label}: cannot read the file ({exc.strerror or exc})") from None
    if not head:
        raise DatasetError(f"{label}: the file is empty")
    if head.startswith(b"\x80"):
        raise DatasetError(f"{label}: a Python pickle, which is not loaded for safety: save the arrays with "
                           f"numpy.save or numpy.savez")
    if head != magic:
        raise DatasetError(f"{label}: not a NumPy file (an {kind} file made by numpy."
                           f"{'save' if kind == '.npy' else 'savez'} starts differently)")


def _numpy_problem(label: str, exc: Exception, key: str | None = None) -> str:
    where = f"{label}, array {key!r}" if key else label
    if "pickle" in str(exc) or "Object arrays" in str(exc):
        return (f"{where}: holds Python objects, which are not loaded for safety (allow_pickle is off): "
                "save plain numeric arrays")
    return f"{where}: not a NumPy file ({exc})"


def _npz_arrays(path: Path, label: str, keys_option: str) -> dict[str, np.ndarray]:
    _check_magic(path, label, NPZ_MAGIC, ".npz")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(_numpy_problem(label, exc)) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(f"{label}: holds a single array, not an .npz archive")
    with archive:
        files = list(archive.files)
        lower = {k.lower(): k for k in files}
        listed = ", ".join(repr(k) for k in files) or "none"
        if keys_option.strip() and keys_option.strip() != "auto":
            wanted = [k.strip() for k in keys_option.split(",")]
            if len(wanted) not in (2, 4):
                raise DatasetError(f"{label}: the keys option names 2 arrays (x, y) or 4 (x_train, y_train, "
                                   f"x_test, y_test), got {keys_option!r}")
            for k in wanted:
                if k not in files:
                    raise DatasetError(f"{label}: no array {k!r}; it holds {listed}")
            chosen = wanted
        elif {"x_train", "y_train", "x_test", "y_test"} <= set(lower):
            chosen = [lower[k] for k in ("x_train", "y_train", "x_test", "y_test")]
        elif {"x_train", "y_train"} <= set(lower):
            chosen = [lower["x_train"], lower["y_train"]]
        elif {"x", "y"} <= set(lower):
            chosen = [lower["x"], lower["y"]]
        else:
            raise DatasetError(f"{label}: holds {listed}; expected arrays x and y, or x_train, y_train, "
                               "x_test and y_test: set the keys option (for example 'images,labels')")
        roles = ["x", "y", "x_test", "y_test"]
        out = {}
        for role, key in zip(roles, chosen):
            try:
                out[role] = archive[key]
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise DatasetError(_numpy_problem(label, exc, key)) from None
        out["_names"] = chosen  # type: ignore[assignment]
        return out


def _as_features(x: np.ndarray, scale: bool, out_label: str) -> np.ndarray:
    """float32 features; uint8 scaled to [0, 1] with one float32 pass."""
    if x.dtype.kind not in "biuf":
        raise DatasetError(f"{out_label}: holds {x.dtype} values, expected numbers")
    if x.dtype == np.uint8 and scale:
        out = np.empty(x.shape, np.float32)
        np.multiply(x, np.float32(1 / 255), out=out, dtype=np.float32)
        return out
    out = x.astype(np.float32, copy=False)
    if x.dtype.kind == "f":
        bad = ~np.isfinite(out)
        if bad.any():
            first = int(np.nonzero(bad.reshape(len(out), -1).any(axis=1))[0][0])
            raise DatasetError(f"{out_label}: {int(bad.sum())} NaN or infinite values (the first in sample "
                               f"{first}): fix or remove those samples")
    return out


def _labels(y: np.ndarray, label: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and y.dtype.kind in "biuf" and y.shape[1] > 1 and np.all((y == 0) | (y == 1)) \
            and np.all(y.sum(axis=1) == 1):
        y = y.argmax(axis=1)  # one-hot labels
    if y.dtype.kind not in "biufUS":
        raise DatasetError(f"{label}: holds {y.dtype} labels, expected numbers or text")
    return y


@register("numpy", "NumPy arrays", "files",
          "Arrays from an .npz file (x and y, or x_train, y_train, x_test and y_test) or from two .npy "
          "files (samples and labels). Never unpickles.",
          (OptionSpec("path", "path", "", "the .npz file, or the .npy file with the samples"),
           OptionSpec("labels", "path", "", "the .npy file with the labels (when path is an .npy file)"),
           OptionSpec("keys", "str", "auto", "auto, or the array names in the .npz: 'x,y' or "
                      "'x_train,y_train,x_test,y_test'"),
           _task_option(),
           OptionSpec("scale", "bool", True, "divide 8-bit (uint8) values by 255"),
           test_fraction_option()))
def numpy_arrays(options: dict, seed: int) -> Dataset:
    path, label = _file(options, "numpy")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = _npz_arrays(path, label, options["keys"])
        names = arrays.pop("_names")
        where = {role: f"{label}, array {key!r}" for role, key in zip(["x", "y", "x_test", "y_test"], names)}
    elif suffix == ".npy":
        if not options["labels"].strip():
            raise DatasetError(f"{label}: an .npy file holds only the samples: set the labels option to the "
                               ".npy file with the labels (or use an .npz file with arrays x and y)")
        labels_path, labels_label = _file(options, "numpy", key="labels")
        if labels_path.suffix.lower() != ".npy":
            raise DatasetError(f"{labels_label}: expected an .npy file with the labels")
        arrays = {"x": _load_array(path, label), "y": _load_array(labels_path, labels_label)}
        where = {"x": label, "y": labels_label}
    else:
        raise DatasetError(f"{label}: expected an .npz file, or an .npy file with the labels option")

    for role, arr in arrays.items():
        if arr.ndim == 0:
            raise DatasetError(f"{where[role]}: a single value, expected one entry per sample")
    pairs = [("x", "y")] + ([("x_test", "y_test")] if "x_test" in arrays else [])
    for xr, yr in pairs:
        if len(arrays[xr]) != len(arrays[yr]):
            raise DatasetError(f"{where[xr]} has {len(arrays[xr])} samples but {where[yr]} has "
                               f"{len(arrays[yr])} labels: they must match")
        if len(arrays[xr]) == 0:
            raise DatasetError(f"{where[xr]}: no samples")
    if "x_test" in arrays and arrays["x_test"].shape[1:] != arrays["x"].shape[1:]:
        raise DatasetError(f"{where['x_test']} has samples of shape {arrays['x_test'].shape[1:]} but "
                           f"{where['x']} has {arrays['x'].shape[1:]}")

    x, y = arrays["x"], _labels(arrays["y"], where["y"])
    y_test = _labels(arrays["y_test"], where["y_test"]) if "x_test" in arrays else None
    all_y = y if y_test is None else np.concatenate([y, y_test])
    task = options["task"]
    if task == "auto":
        task = "classification" if all_y.ndim == 1 and (all_y.dtype.kind in "USbiu" or (
            all_y.dtype.kind == "f" and _few_whole_numbers(all_y))) else "regression"
    if task == "classification":
        if all_y.ndim != 1:
            raise DatasetError(f"{where['y']}: labels of shape {all_y.shape[1:]} per sample; a classification "
                               "needs one label per sample (or one-hot rows)")
        all_y, class_names = _encode_labels(all_y)
    else:
        if all_y.dtype.kind in "US":
            raise DatasetError(f"{where['y']}: text labels cannot be regression targets: set task to "
                               "classification")
        all_y, class_names = all_y.astype(np.float32), []

    if y_test is None:
        train, test = _split(all_y, options["test_fraction"], seed, label)
        x_train, x_test = np.take(x, train, axis=0), np.take(x, test, axis=0)  # index the small dtype
        y_train, y_test = all_y[train], all_y[test]
    else:
        x_train, x_test = x, arrays["x_test"]
        y_train, y_test = all_y[:len(y)], all_y[len(y):]
    source_dtype = x.dtype
    x_train = _as_features(x_train, options["scale"], where["x"])
    x_test = _as_features(x_test, options["scale"], where.get("x_test", where["x"]))
    if x_train.ndim == 1:
        x_train, x_test = x_train[:, None], x_test[:, None]
    elif x_train.ndim == 3 and source_dtype == np.uint8:  # grey images without a channel axis
        x_train, x_test = x_train[..., None], x_test[..., None]
    kind = {2: "table", 3: "series", 4: "image"}.get(x_train.ndim, "table")
    meta = {"source": "numpy", "path": str(path), "arrays": names if suffix == ".npz" else None,
            "dtype": str(source_dtype), "scaled": bool(source_dtype == np.uint8 and options["scale"])}
    if suffix == ".npy":
        meta["labels"] = str(labels_path)
    return Dataset(path.name, x_train, y_train, x_test, y_test, task, class_names,
                   f"{path.name}: {len(x_train) + len(x_test)} samples of shape {tuple(x_train.shape[1:])}",
                   kind=kind, meta=meta)


# --------------------------------------------------------------------------- image folders


def _hidden(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return any(p.startswith(".") for p in rel.parts) or path.name.lower() in IGNORED_FILES


def _read_image(path: Path, size: int, rel: str) -> tuple[np.ndarray | None, str, str]:
    """(RGB uint8 array or None, problem, mode)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            mode = im.mode
            if size and im.format == "JPEG":
                im.draft("RGB", (size, size))  # decode big photos at a reduced scale: much faster
            im.load()
            rgb = im.convert("RGB")
            if size:
                rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8), "", mode
    except UnidentifiedImageError:
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return None, f"{rel} (unreadable image)", ""
        return None, f"{rel} (not an image file)", ""
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return None, f"{rel} (unreadable image: {exc})", ""


@register("image_folder", "Image folder", "files",
          "Images from a folder with one sub-folder per class (for example cats/ and dogs/), resized and "
          "scaled to [0, 1]. The files are only read.",
          (OptionSpec("path", "path", "", "the folder that holds one sub-folder per class"),
           OptionSpec("size", "int", 32, "width and height to resize every image to (0: keep the sizes, "
                      "which must then all match)", 0, 1024),
           OptionSpec("colour", "choice", "auto", "auto (grey when every image is grey), grey or rgb",
                      choices=("auto", "grey", "rgb")),
           OptionSpec("skip_bad", "bool", False, "leave out unreadable and non-image files instead of "
                      "stopping with an error"),
           test_fraction_option()))
def image_folder(options: dict, seed: int) -> Dataset:
    root, label = _file(options, "image_folder", what="folder")
    label = label.rstrip("/\\")
    try:
        entries = sorted(p for p in root.iterdir() if not _hidden(p, root))
    except OSError as exc:
        raise DatasetError(f"{label}: cannot read the folder ({exc.strerror or exc})") from None
    if not entries:
        raise DatasetError(f"{label}: the folder is empty; put the images of each class in a sub-folder "
                           "named after the class (for example cats/ and dogs/)")
    class_dirs = [p for p in entries if p.is_dir()]
    if not class_dirs:
        raise DatasetError(f"{label}: no class sub-folders, only files; put the images of each class in a "
                           "sub-folder named after the class (for example cats/ and dogs/)")
    size = options["size"]
    images, labels, modes, bad, names = [], [], set(), [], []
    first_size: tuple[str, tuple[int, int]] | None = None
    for c, folder in enumerate(class_dirs):
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not _hidden(p, root))
        count = 0
        for f in files:
            rel = f.relative_to(root).as_posix()
            arr, problem, mode = _read_image(f, size, rel)
            if arr is None:
                bad.append(problem)
                continue
            if not size:
                hw = arr.shape[:2]
                if first_size is None:
                    first_size = (rel, hw)
                elif hw != first_size[1]:
                    raise DatasetError(
                        f"{label}: images differ in size: {first_size[0]} is {first_size[1][1]}x"
                        f"{first_size[1][0]} but {rel} is {hw[1]}x{hw[0]}: set the size option to resize them")
            images.append(arr)
            labels.append(c)
            modes.add(mode)
            count += 1
        if count == 0 and not (bad and not options["skip_bad"]):
            raise DatasetError(f"{label}/{folder.name}: no images in the class folder {folder.name!r}"
                               + (f" ({len(files)} files could not be read)" if files else ""))
        names.append(folder.name)
    if bad and not options["skip_bad"]:
        raise DatasetError(f"{label}: {len(bad)} file{'s' * (len(bad) != 1)} could not be read as images: "
                           f"{_positions(bad[:SHOW], len(bad))}; remove them or set skip_bad to leave them out")
    colour = options["colour"]
    if colour == "auto":
        colour = "grey" if modes <= GREY_MODES else "rgb"
    x_u8 = np.stack(images)
    if colour == "grey" and modes <= GREY_MODES:  # grey converted to RGB has three equal channels
        x_u8 = x_u8[..., :1]
    elif colour == "grey":  # luminance, as Pillow's convert("L")
        x_u8 = np.rint(x_u8 @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]
    y = np.asarray(labels, np.int64)
    train, test = _split(y, options["test_fraction"], seed, label)
    x = _as_features(x_u8, True, label)
    meta = {"source": "image_folder", "path": str(root), "colour": colour, "skipped": bad,
            "size": size if size else list(first_size[1]) if first_size else None}
    return Dataset(root.name or label, x[train], y[train], x[test], y[test], "classification", names,
                   f"{root.name}: {len(y)} images in {len(names)} classes, {x.shape[1]}x{x.shape[2]} "
                   f"{'grey' if colour == 'grey' else 'RGB'}", kind="image", meta=meta)


# --------------------------------------------------------------------------- text files


def char_windows(text: str, window: int, step: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(x int64 (n, window) character ids, y int64 (n,) the id of the next character, vocabulary:
    the sorted characters), without a Python loop over the text."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    vocab_codes, ids = np.unique(codes, return_inverse=True)
    ids = ids.reshape(-1).astype(np.int64)
    starts = np.arange(0, len(ids) - window, step)
    x = np.lib.stride_tricks.sliding_window_view(ids, window)[starts]
    return np.ascontiguousarray(x), ids[starts + window], [chr(c) for c in vocab_codes.tolist()]


@register("text_file", "Text file", "files",
          "A plain text file for character-level language models, like text_corpus: windows of "
          "character ids, and the next character to predict. The file is only read.",
          (OptionSpec("path", "path", "", "the text file (UTF-8 unless the encoding option says otherwise)"),
           OptionSpec("window", "int", 40, "characters the model sees", 1, 10_000),
           OptionSpec("step", "int", 3, "characters between the starts of two windows", 1, 10_000),
           OptionSpec("max_chars", "int", 100_000, "characters to use from the start (0: all)", 0,
                      100_000_000),
           _encoding_option(),
           test_fraction_option(0.1)))
def text_file(options: dict, seed: int) -> Dataset:
    path, label = _file(options, "text_file")
    text = _decode(_read_bytes(path, label), options["encoding"], label)
    text = text.replace("\r\n", "\n")
    if options["max_chars"]:
        text = text[:options["max_chars"]]
    window = options["window"]
    if len(text) <= window + 1:
        raise DatasetError(f"{label}: {len(text)} characters, too few for windows of {window}: use a longer "
                           "text or a smaller window")
    from dlstudio.data.text import printable

    x, y, vocabulary = char_windows(text, window, options["step"])
    train, test = _split(y, options["test_fraction"], seed, label)
    meta = {"source": "text_file", "path": str(path), "characters": len(text), "window": window,
            "step": options["step"]}
    return Dataset(path.name, x[train], y[train], x[test], y[test], "classification",
                   [printable(c) for c in vocabulary],
                   f"{path.name}: {len(text)} characters, {len(vocabulary)} different, windows of {window}",
                   kind="text", vocabulary=list(vocabulary), meta=meta)
