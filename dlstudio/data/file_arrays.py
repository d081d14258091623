"""Bring your own data: NumPy arrays (.npy / .npz) and image folders (one sub-folder per
class) as registered datasets. The user's files are only ever read; every problem is a
DatasetError naming the file, array or image."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from dlstudio.bounded import LimitError, image_size, npy_header, npz_headers, open_regular
from dlstudio.data.dataset import Dataset, DatasetError, check_allocation
from dlstudio.data.paths import confined
from dlstudio.data.file_common import (
    SHOW,
    task_option,
    user_file,
    split_labels,
    encode_labels,
    few_whole_numbers,
    positions,
)
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.split import test_fraction_option

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                            ".pgm", ".pbm", ".ico"})
IGNORED_FILES = frozenset({"thumbs.db", "desktop.ini"})
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})


# --------------------------------------------------------------------------- NumPy


#: Copies of the arrays a NumPy dataset makes while it loads (the array, the split, float32 features).
ARRAY_COPIES = 3


def _load_array(path: Path, label: str) -> np.ndarray:
    _check_magic(path, label, NPY_MAGIC, ".npy")
    try:  # the header first: shape and dtype are checked before any data is read
        with open_regular(path, ".npy file") as fh:
            header = npy_header(fh, label)
    except LimitError as exc:
        raise DatasetError(str(exc)) from None
    except (ValueError, OSError) as exc:
        raise DatasetError(f"{label}: not a NumPy .npy file ({exc})") from None
    check_allocation(header.nbytes * ARRAY_COPIES, f"{label}: an array of shape {header.shape} ({header.dtype})")
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
    try:  # every member's header first (and the archive's size): nothing is unpacked before the checks
        headers = npz_headers(path, label)
    except LimitError as exc:
        raise DatasetError(str(exc)) from None
    except (ValueError, OSError) as exc:
        raise DatasetError(_numpy_problem(label, exc)) from None
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
        check_allocation(sum(headers[k].nbytes for k in chosen if k in headers) * ARRAY_COPIES,
                         f"{label}: arrays {', '.join(map(repr, chosen))}")
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
           task_option(),
           OptionSpec("scale", "bool", True, "divide 8-bit (uint8) values by 255"),
           test_fraction_option()))
def numpy_arrays(options: dict, seed: int) -> Dataset:
    path, label = user_file(options, "numpy")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = _npz_arrays(path, label, options["keys"])
        names = arrays.pop("_names")
        where = {role: f"{label}, array {key!r}" for role, key in zip(["x", "y", "x_test", "y_test"], names)}
    elif suffix == ".npy":
        if not options["labels"].strip():
            raise DatasetError(f"{label}: an .npy file holds only the samples: set the labels option to the "
                               ".npy file with the labels (or use an .npz file with arrays x and y)")
        labels_path, labels_label = user_file(options, "numpy", key="labels")
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
            all_y.dtype.kind == "f" and few_whole_numbers(all_y))) else "regression"
    if task == "classification":
        if all_y.ndim != 1:
            raise DatasetError(f"{where['y']}: labels of shape {all_y.shape[1:]} per sample; a classification "
                               "needs one label per sample (or one-hot rows)")
        all_y, class_names = encode_labels(all_y)
    else:
        if all_y.dtype.kind in "US":
            raise DatasetError(f"{where['y']}: text labels cannot be regression targets: set task to "
                               "classification")
        all_y, class_names = all_y.astype(np.float32), []

    if y_test is None:
        train, test = split_labels(all_y, options["test_fraction"], seed, label)
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
    """(RGB uint8 array or None, problem, mode); the dimensions are checked from the header
    before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        image_size(path, rel)
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
    except LimitError as exc:
        return None, f"{rel} ({str(exc).split(': ', 1)[-1]})", ""
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
    root, label = user_file(options, "image_folder", what="folder")
    label = label.rstrip("/\\")
    try:
        entries = sorted(p for p in root.iterdir() if not _hidden(p, root))
        for p in entries:  # a class folder linked out of the data folder is refused
            confined(p, root, label)
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
    listed = {}
    for folder in class_dirs:
        try:
            found = sorted(p for p in folder.rglob("*") if not _hidden(p, root))
        except OSError as exc:
            raise DatasetError(f"{label}/{folder.name}: cannot read the folder ({exc.strerror or exc})") from None
        listed[folder] = [p for p in found if confined(p, root, label).is_file()]  # links stay inside
    n_files = sum(len(files) for files in listed.values())
    if size:  # uint8 images, float32 features and the split's copies
        check_allocation(n_files * size * size * 3 * (1 + 4 * 2), f"{label}: {n_files:,} images of {size}x{size}",
                         "choose a smaller size or fewer images")
    for c, folder in enumerate(class_dirs):
        files = listed[folder]
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
                    check_allocation(n_files * hw[0] * hw[1] * 3 * (1 + 4 * 2),
                                     f"{label}: {n_files:,} images of {hw[1]}x{hw[0]}",
                                     "set the size option to resize them")
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
                           f"{positions(bad[:SHOW], len(bad))}; remove them or set skip_bad to leave them out")
    colour = options["colour"]
    if colour == "auto":
        colour = "grey" if modes <= GREY_MODES else "rgb"
    x_u8 = np.stack(images)
    if colour == "grey" and modes <= GREY_MODES:  # grey converted to RGB has three equal channels
        x_u8 = x_u8[..., :1]
    elif colour == "grey":  # luminance, as Pillow's convert("L")
        x_u8 = np.rint(x_u8 @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]
    y = np.asarray(labels, np.int64)
    train, test = split_labels(y, options["test_fraction"], seed, label)
    x = _as_features(x_u8, True, label)
    meta = {"source": "image_folder", "path": str(root), "colour": colour, "skipped": bad,
            "size": size if size else list(first_size[1]) if first_size else None}
    return Dataset(root.name or label, x[train], y[train], x[test], y[test], "classification", names,
                   f"{root.name}: {len(y)} images in {len(names)} classes, {x.shape[1]}x{x.shape[2]} "
                   f"{'grey' if colour == 'grey' else 'RGB'}", kind="image", meta=meta)
