"""Project settings are evented: assigning a changed setting emits settings_changed."""

from __future__ import annotations

import copy

from dlstudio.project import DatasetRef, new_project


def test_assigning_a_changed_setting_emits_its_name_once():
    project = new_project()
    seen: list[str] = []
    project.settings_changed.connect(seen.append)
    project.training = project.training.model_copy(update={"epochs": 7})
    project.training = project.training.model_copy(update={"epochs": 7})  # the same value: silent
    project.dataset = DatasetRef(name="xor", options={})
    project.notes = "why this model"
    project.graph = project.graph  # the graph has its own signals
    assert seen == ["training", "dataset", "notes"]


def test_a_copy_has_its_own_signal():
    project = new_project()
    seen: list[str] = []
    project.settings_changed.connect(seen.append)
    snapshot = copy.copy(project)  # as a training worker takes one
    snapshot.notes = "changed in the copy"
    assert seen == [] and project.notes == ""
