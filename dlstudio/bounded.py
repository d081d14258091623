"""Bounded reading of untrusted input: check what is about to be read before reading it.

Projects, run folders, model files and data files may be hostile or damaged. The readers
of each kind (:mod:`dlstudio.project.io`, :mod:`dlstudio.runs.store`,
:mod:`dlstudio.compile.model_file`, :mod:`dlstudio.data.file_common` and the datasets)
build on the checks here, which all look before they allocate:

* :func:`regular_file`: only regular files are read (never ``/dev/zero``, a FIFO, a socket);
* :func:`read_limited`: a file's bytes, refused past a size limit (read no further);
* :func:`load_json`: JSON with a size and a nesting limit;
* :func:`check_archive`: a zip archive's member count and total uncompressed size;
* :func:`npy_header` / :func:`check_array`: a NumPy array's shape and dtype from its header;
* :func:`image_size`: an image's dimensions from its header, before any pixel is decoded;
* :func:`check_memory`: an estimate of what an operation will allocate against the memory
  this process may still use (the machine's, its cgroup's and its rlimits');
* :func:`check_hdf5` / :func:`load_weights`: an HDF5 file (a run's weights) read through once in
  a child process with a time and a memory limit before this process reads it (HDF5 can loop
  for ever on a few flipped bits, ignoring Ctrl+C).

Every refusal is a :class:`LimitError` (a DLStudioError) whose message names the input, the
limit and the way out. This module imports nothing heavy and nothing of DL Studio's but its
error base, so every layer may use it.
"""

from __future__ import annotations

import json
import os
import resource
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dlstudio.errors import DLStudioError


class LimitError(DLStudioError, ValueError):
    """Input refused before it was read or allocated: over a size, shape or memory limit,
    or not a regular file. The message names the input and the limit."""


@dataclass(frozen=True)
class Limits:
    """The limits DL Studio enforces on what it reads (README, "Safety")."""

    #: JSON documents: projects and run.json (history.json may be larger: one value per epoch).
    json_bytes: int = 64 * 1024 * 1024
    history_bytes: int = 128 * 1024 * 1024
    json_depth: int = 100
    #: Lists and objects in one JSON document (a project of 10,000 layers holds about 50,000).
    json_containers: int = 2_000_000
    #: Archive members (.keras, .npz): how many, and their total uncompressed size.
    archive_members: int = 100_000
    archive_bytes: int = 8 * 1024 ** 3
    #: One image: width x height in pixels (Pillow warns at 89 M, refuses at 179 M).
    image_pixels: int = 50_000_000
    #: Text data read whole (CSV, text files) and arrays from .npy / .npz files.
    text_bytes: int = 512 * 1024 * 1024
    #: Share of the memory still available that one operation may plan to use.
    memory_share: float = 0.8


LIMITS = Limits()


def fmt_bytes(n: float) -> str:
    """``1.5 GB``, ``512 KB`` (powers of 1000, as file managers show sizes)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} bytes"


# ----------------------------------------------------------------------------- files

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def regular_file(path: str | os.PathLike, what: str = "file") -> os.stat_result:
    """The stat of ``path`` (links followed), which must be a regular file; LimitError for a
    device (``/dev/zero``), a pipe, a socket or a folder, FileNotFoundError when it is missing."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise LimitError(f"{path}: is {_kind(st.st_mode)}, not a regular {what}; DL Studio reads only "
                         "regular files")
    return st


def open_regular(path: str | os.PathLike, what: str = "file") -> IO[bytes]:
    """``path`` opened for reading, checked to be a regular file before and after opening
    (a FIFO is opened without blocking, and refused)."""
    regular_file(path, what)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LimitError(f"{path}: is {_kind(st.st_mode)}, not a regular {what}; DL Studio reads only "
                             "regular files")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def too_big(path: Any, size: int, limit: int, what: str = "file") -> LimitError:
    return LimitError(f"{path}: the {what} is {fmt_bytes(size)}; DL Studio reads at most {fmt_bytes(limit)} "
                      f"of such {what}s")


def read_limited(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``; LimitError past ``limit`` bytes (the size is
    checked first, and no more than ``limit + 1`` bytes are ever read)."""
    with open_regular(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise too_big(path, size, limit, what)
        check_memory(size, f"{path}: reading the {what}")
        parts, total = [], 0
        while True:  # in pieces: read(n) would allocate n bytes at once, whatever the file holds
            part = fh.read(min(1 << 24, limit + 1 - total))
            if not part:
                break
            parts.append(part)
            total += len(part)
            if total > limit:
                raise too_big(path, total, limit, what)
    return b"".join(parts)


# ----------------------------------------------------------------------------- JSON


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (iteratively: any depth is measured)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return deepest


def check_json_text(text: str | bytes, where: str) -> None:
    """Before JSON text is parsed: LimitError when it holds more lists and objects than
    :attr:`Limits.json_containers` or would not fit in the memory still available (each
    parsed container costs a hundred bytes and more, whatever its size in the file)."""
    brace, bracket = (b"{", b"[") if isinstance(text, bytes) else ("{", "[")
    containers = text.count(brace) + text.count(bracket)  # an upper bound: brackets inside strings count too
    if containers > LIMITS.json_containers:
        raise LimitError(f"{where}: {containers:,} lists and objects; DL Studio reads JSON documents of at most "
                         f"{LIMITS.json_containers:,}")
    check_memory(containers * 200 + len(text) * 4, f"{where}: a JSON document of {len(text):,} bytes")


def parse_json(text: str | bytes, where: str, max_depth: int | None = None) -> Any:
    """JSON text parsed, with a nesting limit; LimitError / ValueError with ``where`` in front."""
    max_depth = LIMITS.json_depth if max_depth is None else max_depth
    check_json_text(text, where)
    try:
        value = json.loads(text)
    except RecursionError:
        raise LimitError(f"{where}: nested more than {max_depth} levels deep, which DL Studio refuses") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}") from None
    except ValueError as exc:  # an integer of 5,000 digits, bad UTF-8 in bytes
        raise ValueError(f"{where}: not valid JSON: {exc}") from None
    if json_depth(value) > max_depth:
        raise LimitError(f"{where}: nested more than {max_depth} levels deep, which DL Studio refuses")
    return value


def load_json(path: str | os.PathLike, limit: int | None = None, what: str = "JSON file") -> Any:
    """A JSON file read with :func:`read_limited` and :func:`parse_json`."""
    data = read_limited(path, LIMITS.json_bytes if limit is None else limit, what)
    return parse_json(data, str(path))


# ----------------------------------------------------------------------------- archives


def check_archive(archive: Any, label: str, limit: int | None = None) -> int:
    """The total uncompressed size of a ``zipfile.ZipFile``'s members (as its directory
    declares them, which is also as far as ``zipfile`` reads); LimitError past the member
    count or ``limit`` bytes."""
    infos = archive.infolist()
    if len(infos) > LIMITS.archive_members:
        raise LimitError(f"{label}: {len(infos):,} members in the archive; DL Studio opens archives of at most "
                         f"{LIMITS.archive_members:,}")
    total = sum(max(0, i.file_size) for i in infos)
    limit = LIMITS.archive_bytes if limit is None else limit
    if total > limit:
        raise LimitError(f"{label}: the archive unpacks to {fmt_bytes(total)}; DL Studio unpacks at most "
                         f"{fmt_bytes(limit)}")
    return total


# ----------------------------------------------------------------------------- arrays


@dataclass(frozen=True)
class ArrayHeader:
    shape: tuple[int, ...]
    dtype: Any  # numpy.dtype

    @property
    def nbytes(self) -> int:
        n = self.dtype.itemsize
        for d in self.shape:
            n *= d
        return n


def npy_header(fh: IO[bytes], label: str) -> ArrayHeader:
    """Shape and dtype from the header of the ``.npy`` stream ``fh`` (nothing else is read);
    LimitError for object arrays (pickles), ValueError for a damaged header."""
    import numpy as np
    from numpy.lib import format as npformat

    try:
        version = npformat.read_magic(fh)
        shape, _fortran, dtype = _read_header(npformat, fh, version)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{label}: not a NumPy array file ({exc})") from None
    if dtype.hasobject:
        raise LimitError(f"{label}: holds Python objects, which are not loaded for safety (allow_pickle is "
                         "off): save plain numeric arrays")
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise ValueError(f"{label}: a damaged array header (shape {shape})")
    return ArrayHeader(tuple(int(d) for d in shape), np.dtype(dtype))


def _read_header(npformat: Any, fh: IO[bytes], version: tuple[int, int]) -> tuple:
    if version == (1, 0):
        return npformat.read_array_header_1_0(fh)
    if version == (2, 0):
        return npformat.read_array_header_2_0(fh)
    raise ValueError(f"unknown .npy format version {version}")


def npz_headers(path: str | os.PathLike, label: str) -> dict[str, ArrayHeader]:
    """``{array name: header}`` of an ``.npz`` archive, read from the member headers only
    (the archive's member count and size checked first); ValueError when damaged."""
    import zipfile

    with open_regular(path, "NumPy archive") as fh:
        try:
            with zipfile.ZipFile(fh) as archive:
                check_archive(archive, label)
                out = {}
                for info in archive.infolist():
                    name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                    with archive.open(info) as member:
                        out[name] = npy_header(member, f"{label}, array {name!r}")
                return out
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
            raise ValueError(f"{label}: a damaged .npz archive ({exc})") from None


def check_array(header: ArrayHeader, label: str, copies: float = 1.0) -> None:
    """LimitError when an array of ``header`` (``copies`` times, for the conversions that
    follow) would not fit in the memory still available."""
    check_memory(int(header.nbytes * copies), f"{label}: an array of shape {header.shape} ({header.dtype})")


# ----------------------------------------------------------------------------- images


def image_size(path: str | os.PathLike, label: str, max_pixels: int | None = None) -> tuple[int, int]:
    """(width, height) from the image's header, checked against the pixel limit before
    any pixel is decoded. Raises Pillow's own errors for what is not an image."""
    from PIL import Image

    max_pixels = LIMITS.image_pixels if max_pixels is None else max_pixels
    with open_regular(path, "image") as fh, Image.open(fh) as im:
        width, height = im.size
    if width * height > max_pixels:
        raise LimitError(f"{label}: the image is {width}x{height} pixels ({width * height / 1e6:.0f} "
                         f"megapixels); DL Studio decodes images of at most {max_pixels / 1e6:.0f} megapixels")
    return width, height


# ----------------------------------------------------------------------------- memory


def _kib_field(path: str, key: str) -> int | None:
    """A ``key:  N kB`` line of a /proc file, in bytes (None when it cannot be read)."""
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _meminfo(key: str) -> int | None:
    return _kib_field("/proc/meminfo", key)


def _cgroup_room() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None


def _process_status(key: str) -> int | None:
    return _kib_field("/proc/self/status", key)


def _rlimit_room() -> int | None:
    room = None
    for name, used_key in (("RLIMIT_AS", "VmSize"), ("RLIMIT_DATA", "VmData")):
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        soft, _hard = resource.getrlimit(kind)
        if soft == resource.RLIM_INFINITY or soft <= 0:
            continue
        used = _process_status(used_key) or 0
        left = max(0, soft - used)
        room = left if room is None else min(room, left)
    return room


def available_memory() -> int:
    """Bytes this process may still allocate: the least of the machine's available memory,
    the room left in its cgroup and the room left under its address-space / data rlimits."""
    candidates = [m for m in (_meminfo("MemAvailable"), _cgroup_room(), _rlimit_room()) if m is not None]
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return 1 << 62
    return min(candidates)


def total_memory() -> int:
    """The machine's memory (or its cgroup's limit, when lower)."""
    total = _meminfo("MemTotal") or 1 << 62
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            total = min(total, int(limit))
    except (OSError, ValueError):
        pass
    return total


def check_memory(nbytes: int, what: str, hint: str = "") -> None:
    """LimitError when ``what`` needs about ``nbytes`` and that is more than
    :attr:`Limits.memory_share` of :func:`available_memory`."""
    room = int(available_memory() * LIMITS.memory_share)
    if nbytes > room:
        raise LimitError(f"{what} needs about {fmt_bytes(nbytes)} of memory, but only {fmt_bytes(room)} can be "
                         f"used now{': ' + hint if hint else ''}")


def check_count(n: int, limit: int, what: str, hint: str = "") -> None:
    """LimitError when ``n`` (of ``what``) is over ``limit``."""
    if n > limit:
        raise LimitError(f"{n:,} {what}; DL Studio allows at most {limit:,}{': ' + hint if hint else ''}")


#: The environment variable that carries a child's memory limit (see :func:`limit_own_memory`).
CHILD_MEMORY_ENV = "DLSTUDIO_CHILD_MEMORY"


def limit_own_memory(max_bytes: int | None = None) -> None:
    """Limit this process's address space and data to ``max_bytes`` (default: the number in
    :data:`CHILD_MEMORY_ENV`; nothing when unset). A child process calls it first thing: a
    ``preexec_fn`` could deadlock in a parent with threads (the app's Qt and TensorFlow threads)."""
    if max_bytes is None:
        text = os.environ.get(CHILD_MEMORY_ENV, "")
        if not text.isdigit():
            return
        max_bytes = int(text)
    for kind in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        soft, hard = resource.getrlimit(kind)
        want = max_bytes if soft == resource.RLIM_INFINITY else min(soft, max_bytes)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        resource.setrlimit(kind, (want, hard))


#: Reads every attribute and every dataset of an HDF5 file (the child of :func:`check_hdf5`).
_HDF5_WALK = """
import sys
from dlstudio.bounded import limit_own_memory
limit_own_memory(int(sys.argv[2]))
import h5py
def visit(name, obj):
    for key in obj.attrs:
        obj.attrs[key]
    if isinstance(obj, h5py.Dataset):
        obj[()]
with h5py.File(sys.argv[1], "r") as f:
    for key in f.attrs:
        f.attrs[key]
    f.visititems(visit)
"""
_HDF5_CHECKED: set[tuple[str, int, int]] = set()
#: Seconds the child may take for a small file; one more per 20 MB.
HDF5_SECONDS = 30.0


def check_hdf5(path: str | os.PathLike, what: str = "weights file") -> None:
    """LimitError unless a child process reads the whole HDF5 file ``path`` in time and in
    memory (once per file version: a file checked before and unchanged since is not read again)."""
    import subprocess
    import sys

    st = regular_file(path, what)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key in _HDF5_CHECKED:
        return
    timeout = HDF5_SECONDS + st.st_size / (20 * 1024 ** 2)
    memory = max(available_memory() // 2, 1024 ** 3)
    try:
        done = subprocess.run([sys.executable, "-c", _HDF5_WALK, os.fspath(path), str(memory)], capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise LimitError(f"{path}: reading this {what} did not finish in {timeout:.0f} s; it is damaged "
                         "(HDF5 can loop for ever on a damaged file)") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        if "MemoryError" in done.stderr:
            raise LimitError(f"{path}: this {what} needs more than {fmt_bytes(memory)} to read") from None
        raise LimitError(f"{path}: this {what} cannot be read: {last}") from None
    _HDF5_CHECKED.add(key)


def load_weights(model: Any, path: str | os.PathLike, what: str = "weights file") -> None:
    """``model.load_weights(path)`` after :func:`check_hdf5` read the file safely once."""
    check_hdf5(path, what)
    model.load_weights(path)
