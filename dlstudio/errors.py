"""The one base class of DL Studio's own errors.

Every error that reports bad input or a state the user can change (a project
file, a dataset, a run, a graph, an export) derives from :class:`DLStudioError`,
and its text is written for the user: the command line prints it as it is and
exits 1, the panels show it as it is. Anything else that escapes is a defect
and is shown as "unexpected <type>: ...".
"""

from __future__ import annotations


class DLStudioError(Exception):
    """An error whose message is meant for the user, as it is."""


def user_message(exc: BaseException) -> str:
    """The text to show for ``exc``: its own message when it is one of ours (or a
    file that cannot be read), else "unexpected <type>: <message>"."""
    text = str(exc).strip()
    if isinstance(exc, (DLStudioError, OSError)):
        return text or type(exc).__name__
    return f"unexpected {type(exc).__name__}: {text}" if text else f"unexpected {type(exc).__name__}"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says that memory ran out: Python's MemoryError, TensorFlow's
    ResourceExhaustedError, XLA's and the allocators' "out of memory"."""
    if isinstance(exc, MemoryError):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(k in text for k in ("resourceexhausted", "resource_exhausted", "out of memory", "oom when",
                                   "bad_alloc", "cannot allocate memory"))


def sentence(text: str) -> str:
    """``text`` with its first letter upper-case: messages start lower-case, to follow
    "error: " on the command line, and a panel shows them as sentences."""
    return text[:1].upper() + text[1:]

