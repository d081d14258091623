"""The dataset registry: every dataset with its options, described as data so
the CLI (``dlstudio data list``) and the data panel read the same list."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from dlstudio.data.dataset import Dataset, DatasetError


@dataclass(frozen=True)
class OptionSpec:
    name: str
    kind: str  # int float bool choice str path
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None

    def check(self, value: Any, dataset: str) -> Any:
        where = f"dataset {dataset!r} option {self.name!r}"
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise DatasetError(f"{where} must be true or false (got {value!r})")
            return value
        if self.kind in ("int", "float"):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if ok and self.kind == "int":
                ok = float(value).is_integer()
            if not ok:
                what = "a whole number" if self.kind == "int" else "a number"
                raise DatasetError(f"{where} must be {what} (got {value!r})")
            value = int(value) if self.kind == "int" else float(value)
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise DatasetError(f"{where} must be between {self.min:g} and {self.max:g} (got {value!r})")
            return value
        if self.kind == "choice":
            if value not in (self.choices or ()):
                raise DatasetError(f"{where} must be one of {', '.join(map(repr, self.choices or ()))} "
                                   f"(got {value!r})")
            return value
        if self.kind in ("str", "path"):
            if not isinstance(value, str):
                raise DatasetError(f"{where} must be text (got {value!r})")
            return value
        raise DatasetError(f"{where} has an unknown kind {self.kind!r}")


Loader = Callable[[dict[str, Any], int], Dataset]


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    category: str  # images, toy, regression, tabular, sequences, text, downloads, files
    description: str
    options: tuple[OptionSpec, ...]
    loader: Loader
    offline: bool = True  # False: downloads on first use (keras.datasets)

    def defaults(self) -> dict[str, Any]:
        return {o.name: o.default for o in self.options}

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        known = {o.name for o in self.options}
        unknown = sorted(set(options) - known)
        if unknown:
            raise DatasetError(f"dataset {self.name!r} has no option {unknown[0]!r}; "
                               f"its options: {', '.join(sorted(known)) or 'none'}")
        return {o.name: o.check(options.get(o.name, o.default), self.name) for o in self.options}


REGISTRY: dict[str, DatasetSpec] = {}


def register(name: str, title: str, category: str, description: str,
             options: tuple[OptionSpec, ...] = (), offline: bool = True) -> Callable[[Loader], Loader]:
    """Decorator: add a loader ``f(options, seed) -> Dataset`` to the registry."""

    def wrap(loader: Loader) -> Loader:
        if name in REGISTRY:
            raise RuntimeError(f"dataset {name!r} registered twice")
        REGISTRY[name] = DatasetSpec(name, title, category, description, tuple(options), loader, offline)
        return loader

    return wrap


def _ensure_loaded() -> None:
    # importing the modules registers their datasets
    # (in listing order: offline sets first, downloads last)
    from dlstudio.data import images, toy, tabular, sequences, text, files, file_arrays, downloads  # noqa: F401
    from dlstudio.data import reviews, translation  # noqa: F401  (sequence tasks)


#: Listing order of categories (for ``dlstudio data list`` and the data panel).
CATEGORY_ORDER = ("images", "toy", "regression", "tabular", "sequences", "text", "files", "downloads")


def list_datasets() -> list[DatasetSpec]:
    """Every dataset, grouped by category in a fixed order, whatever was imported first."""
    _ensure_loaded()
    rank = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    names = list(REGISTRY)
    return sorted(REGISTRY.values(), key=lambda s: (rank.get(s.category, len(rank)), names.index(s.name)))


def get_dataset_spec(name: str) -> DatasetSpec:
    _ensure_loaded()
    try:
        return REGISTRY[name]
    except KeyError:
        raise DatasetError(f"unknown dataset {name!r}; built-in datasets: {', '.join(sorted(REGISTRY))}") from None


def load_dataset(name: str, options: dict[str, Any] | None = None, seed: int = 0,
                 base: Any = None) -> Dataset:
    """Load a dataset by name; raises DatasetError with a clear message. ``base``: the folder
    relative ``path`` options start from (a project's own folder, see
    :func:`dlstudio.data.paths.base_folder`; None: the current directory)."""
    from dlstudio.data.paths import resolve_data_path

    spec = get_dataset_spec(name)
    checked = spec.check_options(dict(options or {}))
    for option in spec.options:
        if option.kind == "path" and str(checked.get(option.name) or "").strip():
            checked[option.name] = str(resolve_data_path(checked[option.name].strip(), base))
    return spec.loader(checked, seed)
