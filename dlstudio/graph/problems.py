"""Problems are data: what is wrong, where, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

from dlstudio.graph.fixes import Fix


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a graph, located at node(s) and optionally a port.

    ``message`` says what is wrong and ``hint`` what to do; both are written for
    the person editing the graph, never a traceback. ``fix``, when there is one,
    is the edit that resolves it (the editor offers it as one undoable step).
    """

    message: str
    node_ids: tuple[str, ...] = ()
    port: int | None = None
    hint: str = ""
    severity: str = "error"  # "error" or "warning"
    fix: Fix | None = None

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message

    @property
    def is_error(self) -> bool:
        return self.severity == "error"
