"""Undo commands for the project's settings: its dataset, training settings and GAN
settings. Each assigns a new value to the project (``project.dataset = ...``), which
emits ``Project.settings_changed``; the panels that show a setting follow that signal,
so undo and redo never touch a panel by hand. Graph edits are in ``commands.py``.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from dlstudio.qt.editor.commands import SetParamCommand


class SetSettingCommand(QUndoCommand):
    """``project.<name>`` becomes ``new`` (a pydantic model, copied in and out); undo
    puts the old value back. The base of the settings commands below."""

    name = ""

    def __init__(self, document: Any, new: Any, text: str):
        super().__init__(text)
        self.project = document.project
        self.old = getattr(self.project, self.name).model_copy(deep=True)
        self.new = new

    def redo(self) -> None:
        setattr(self.project, self.name, self.new.model_copy(deep=True))

    def undo(self) -> None:
        setattr(self.project, self.name, self.old.model_copy(deep=True))


class SetDatasetCommand(SetSettingCommand):
    """Choose the project's dataset: ``project.dataset`` becomes ``DatasetRef(name, options)``.

    Given the loaded ``dataset``, the single Input node's shape (and dtype:
    int32 for token ids) follow it in the same undo step, so undo restores
    both (the parameter edits are SetParamCommands run by this one).
    """

    name = "dataset"

    def __init__(self, document: Any, name: str, options: dict[str, Any], dataset: Any = None,
                 text: str | None = None):
        from dlstudio.data.prepare import input_changes
        from dlstudio.project import DatasetRef

        super().__init__(document, DatasetRef(name=name, options=copy.deepcopy(dict(options))),
                         text or f"Use dataset {name}")
        self.param_commands: list[SetParamCommand] = []
        inputs = [n for n in document.graph.nodes if n.type == "Input"]
        if dataset is not None and len(inputs) == 1:
            for param, value in input_changes(document.graph, dataset).items():
                self.param_commands.append(SetParamCommand(document.graph, inputs[0].id, param, value))

    @property
    def changes_input(self) -> bool:
        return bool(self.param_commands)

    def redo(self) -> None:
        super().redo()
        for cmd in self.param_commands:
            cmd.redo()

    def undo(self) -> None:
        for cmd in reversed(self.param_commands):
            cmd.undo()
        super().undo()


class SetTrainingSettingsCommand(SetSettingCommand):
    """Change training settings: ``project.training`` becomes a validated copy
    with ``changes`` applied. Raises pydantic's ValidationError (nothing is
    changed) when the result is not a valid TrainingSettings."""

    name = "training"

    def __init__(self, document: Any, changes: dict[str, Any], text: str | None = None):
        from dlstudio.project.schema import TrainingSettings

        old = document.project.training.model_dump()
        super().__init__(document, TrainingSettings.model_validate({**old, **copy.deepcopy(changes)}),
                         text or f"Set training {', '.join(changes)}")


class SetGanSettingsCommand(SetSettingCommand):
    """``project.gan`` becomes a validated copy with ``changes`` applied (pydantic's
    ValidationError, and no change, when the result is invalid)."""

    name = "gan"

    def __init__(self, document: Any, changes: dict[str, Any], text: str | None = None):
        from dlstudio.project.schema import GanSettings

        old = document.project.gan.model_dump()
        super().__init__(document, GanSettings.model_validate({**old, **copy.deepcopy(changes)}),
                         text or f"Set GAN {', '.join(changes)}")


class SetSearchCommand(QUndoCommand):
    """``project.search`` (the search space, dlstudio.search) becomes ``new`` (None: no search);
    undo puts the old one back (None included)."""

    def __init__(self, document: Any, new: Any, text: str = "Change the search space"):
        super().__init__(text)
        self.project = document.project
        self.old = None if self.project.search is None else self.project.search.model_copy(deep=True)
        self.new = None if new is None else new.model_copy(deep=True)

    def redo(self) -> None:
        self.project.search = None if self.new is None else self.new.model_copy(deep=True)

    def undo(self) -> None:
        self.project.search = None if self.old is None else self.old.model_copy(deep=True)
