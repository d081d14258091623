"""Bring your own data: CSV tables and text files as registered datasets (NumPy arrays
and image folders are in file_arrays.py, which this module registers too).

The user's files are only ever read. Every problem is a DatasetError that names
the file and, where there is one, the line, column, array or image, and says
what to do about it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

import dlstudio.data.file_arrays  # noqa: F401  (registers the NumPy and image-folder datasets)
from dlstudio.data.dataset import Dataset, DatasetError, check_allocation
from dlstudio.data.file_common import (
    MISSING,
    SHOW,
    task_option,
    encoding_option,
    user_file,
    read_bytes,
    decode_text,
    split_labels,
    encode_labels,
    few_whole_numbers,
    positions,
)
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.split import test_fraction_option


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
                    f"({positions(shown, len(bad))}): fix {'them' if len(bad) != 1 else 'it'}, "
                    "or leave them empty and set the missing option") from None
            self.numeric = False
            self.text = np.array(cells, dtype=object)


def _csv_table(options: dict[str, Any], label: str, path: Path):
    data = read_bytes(path, label)
    # rows of cells as Python strings take about 20 times the file's size, the arrays less
    check_allocation(len(data) * 20, f"{label}: a table of {len(data):,} bytes")
    text = decode_text(data, options["encoding"], label)
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
           task_option(),
           OptionSpec("delimiter", "str", "auto", "auto, or the character between values (',', ';', 'tab')"),
           OptionSpec("header", "choice", "auto", "whether the first line names the columns",
                      choices=("auto", "yes", "no")),
           OptionSpec("missing", "choice", "error",
                      "empty, NA, NaN or ? values: error, drop the rows, or mean (fill in the train mean; "
                      "the most frequent value for text)", choices=("error", "drop", "mean")),
           OptionSpec("standardize", "bool", True, "scale numeric features to mean 0 and deviation 1 "
                      "(fitted on the train split)"),
           OptionSpec("ignore", "str", "", "columns to leave out, separated by commas"),
           encoding_option(),
           test_fraction_option()))
def csv_table(options: dict, seed: int) -> Dataset:
    path, label = user_file(options, "csv")
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
                           f"{positions(where, count)}: set the missing option to drop (leave those rows "
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
        task = "classification" if not tcol.numeric or few_whole_numbers(tcol.values[keep]) else "regression"
    if task == "regression":
        if not tcol.numeric:
            raise DatasetError(f"{label}: the target column {target!r} holds text (for example "
                               f"{tcol.text[rows_kept[0]]!r}), not numbers for a regression: set task to "
                               "classification")
        y, class_names = tcol.values[keep].astype(np.float32), []
    else:
        y, class_names = encode_labels(tcol.values[keep] if tcol.numeric else tcol.text[keep].astype(str))
        if len(class_names) < 2:
            raise DatasetError(f"{label}: the target column {target!r} has only one value "
                               f"({class_names[0]!r}); a classifier needs at least two classes")

    train, test = split_labels(y, options["test_fraction"], seed, label)
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
           encoding_option(),
           test_fraction_option(0.1)))
def text_file(options: dict, seed: int) -> Dataset:
    path, label = user_file(options, "text_file")
    text = decode_text(read_bytes(path, label), options["encoding"], label)
    text = text.replace("\r\n", "\n")
    if options["max_chars"]:
        text = text[:options["max_chars"]]
    window = options["window"]
    if len(text) <= window + 1:
        raise DatasetError(f"{label}: {len(text)} characters, too few for windows of {window}: use a longer "
                           "text or a smaller window")
    from dlstudio.data.text import printable

    count = max(0, -(-(len(text) - window) // options["step"]))
    check_allocation(count * window * 8 * 2 + len(text) * 24, f"{label}: {count:,} windows of {window} characters",
                     "set a larger step, a smaller window or max_chars")
    x, y, vocabulary = char_windows(text, window, options["step"])
    train, test = split_labels(y, options["test_fraction"], seed, label)
    meta = {"source": "text_file", "path": str(path), "characters": len(text), "window": window,
            "step": options["step"]}
    return Dataset(path.name, x[train], y[train], x[test], y[test], "classification",
                   [printable(c) for c in vocabulary],
                   f"{path.name}: {len(text)} characters, {len(vocabulary)} different, windows of {window}",
                   kind="text", vocabulary=list(vocabulary), meta=meta)
