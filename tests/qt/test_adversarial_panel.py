"""The adversarial panel (offscreen): one sample under attack, the test-set curves and gallery."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from dlstudio import RESOURCES  # noqa: E402
from dlstudio.qt import keras_loader  # noqa: E402

TIMEOUT = 90_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The adversarial digits example at 8x8 with two runs: a normal and an FGSM-trained one."""
    assert keras_loader.loader().wait(120), keras_loader.loader().error
    from dlstudio.cli import run_cli

    folder = tmp_path_factory.mktemp("adv_panel")
    data = json.loads((RESOURCES / "examples" / "adversarial_digits.dlsproj").read_text())
    data["graph"]["nodes"][0]["params"]["shape"] = [8, 8, 1]
    data["dataset"]["options"] = {"size": 8}
    data["training"]["epochs"] = 2
    project = folder / "digits.dlsproj"
    project.write_text(json.dumps(data))
    assert run_cli(["train", str(project)]) == 0
    data["training"]["adversarial"] = "fgsm"
    hardened = folder / "hardened.dlsproj"
    hardened.write_text(json.dumps(data))
    assert run_cli(["train", str(hardened), "--run-dir", str(folder / "digits.runs")]) == 0
    return project


@pytest.fixture
def make_panel(qtbot, trained):
    documents = []

    def make(path=trained, show: bool = True):
        from dlstudio.project import load_project
        from dlstudio.qt.document import Document
        from dlstudio.qt.panels.adversarial.adversarial_panel import AdversarialPanel

        doc = Document(load_project(path))
        documents.append(doc)
        panel = AdversarialPanel(doc)
        qtbot.addWidget(panel)
        panel.resize(400, 800)
        if show:
            with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
                panel.show()
        return panel

    yield make
    for doc in documents:
        doc.deleteLater()


def _pixels(view) -> bytes:
    image = view.image
    return bytes(image.constBits()) if image is not None else b""


def test_moving_the_epsilon_slider_updates_the_prediction_and_the_perturbation(make_panel, qtbot):
    panel = make_panel()
    assert len(panel.run_combo.run_ids()) == 2 and panel.eps == pytest.approx(0.1)
    first = panel.result
    assert first.method == "fgsm" and np.abs(first.perturbation).max() == pytest.approx(0.1, abs=1e-5)
    before = {name: _pixels(view) for name, view in panel.images.items()}
    assert all(before.values())
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.eps_slider.setValue(60)  # eps 0.3: every digit flips
    r = panel.result
    assert panel.eps == pytest.approx(0.3) and r.eps == pytest.approx(0.3)
    assert np.abs(r.perturbation).max() == pytest.approx(0.3, abs=1e-5)
    assert r.pred_after[0] != r.labels[0] and "Adversarial" in panel.captions["adversarial"].text()
    assert _pixels(panel.images["adversarial"]) != before["adversarial"]
    assert _pixels(panel.images["original"]) == before["original"]
    assert panel.probs.rows and "flipped" in panel.note.text()
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.set_eps(0.0)
    assert np.abs(panel.result.perturbation).max() == 0 and "still" in panel.note.text()
    with qtbot.waitSignal(panel.computed, timeout=1000):  # cached: at once
        panel.set_eps(0.3)
    assert panel.result is r


def test_the_latest_request_wins(make_panel, qtbot):
    panel = make_panel()
    for tick in (5, 12, 30, 44):
        panel.eps_slider.setValue(tick)
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.result.eps == pytest.approx(0.22), timeout=TIMEOUT)
    assert "\u03b5 = 0.22" in panel.status.text()


def test_methods_targeted_attacks_and_the_next_sample(make_panel, qtbot):
    panel = make_panel()
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.method_combo.setCurrentIndex(panel.method_combo.findData("pgd"))
    assert panel.result.method == "pgd" and panel.steps.isEnabled() and "PGD takes 10" in panel.explain.text()
    assert panel.target_combo.count() == 10 and not panel.target_combo.isEnabled()
    label = int(panel.result.labels[0])
    target = (label + 1) % 10
    panel.target_combo.setCurrentIndex(target)
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.targeted.setChecked(True)
    r = panel.result
    assert r.target == target and panel.target_combo.isEnabled()
    assert r.probs_after[0, target] > r.probs_before[0, target]
    assert "target" in panel.note.text() and "Targeted" in panel.explain.text()
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.method_combo.setCurrentIndex(panel.method_combo.findData("deepfool"))
    assert panel.result.target is None and not panel.targeted.isEnabled() and "(bound)" in panel.eps_label.text()
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.index.setValue(3)
    assert "test #3" in panel.status.text()


def test_the_test_set_tab_overlays_runs_and_shows_a_gallery(make_panel, qtbot):
    panel = make_panel()
    assert len(panel.compared_runs()) == 2  # the shown run and one trained the other way
    with qtbot.waitSignal(panel.curves_computed, timeout=TIMEOUT) as blocker:
        panel.tabs.setCurrentIndex(1)
    curves = blocker.args[0]["curves"]
    assert {(m, s) for (_r, m, s) in curves} == {("fgsm", 10), ("pgd", 10)} and len(curves) == 4
    for curve in curves.values():
        assert curve.eps[0] == 0 and curve.accuracy[0] >= curve.accuracy[-1] and curve.n == 360
    assert any("FGSM-trained" in c.label for c in curves.values())
    assert len(panel.plot.listDataItems()) == 4
    examples = panel.gallery_examples
    assert examples and panel.gallery.count() == len(examples)
    assert panel.gallery.captions()[0] == examples[0].caption()
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.gallery.set_current(0)
    assert panel.tabs.currentIndex() == 0 and panel.index.value() == examples[0].index
    # unchecking a run removes its curves; nothing is recomputed for it
    panel.runs_list.item(1).setCheckState(panel.runs_list.item(1).checkState().Unchecked)
    assert len(panel.plot.listDataItems()) == 2


def test_a_project_without_runs_says_how_to_get_one(make_panel, tmp_path):
    fresh = tmp_path / "fresh.dlsproj"
    fresh.write_text((RESOURCES / "examples" / "adversarial_digits.dlsproj").read_text())
    panel = make_panel(fresh, show=False)
    panel.show()
    assert panel.run_combo.count() == 0 and "No trained runs yet" in panel.status.text()
    assert panel.result is None


def test_main_window_has_an_adversarial_dock_beside_insight(qtbot, tmp_path, monkeypatch, trained):
    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    from dlstudio.qt.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.loading.isVisible())
    assert w.open_path(trained)
    panel = w.adversarial_panel
    assert w.adversarial_dock.widget() is panel and panel.document is w.document
    assert w.adversarial_dock in w.tabifiedDockWidgets(w.insight_dock)
    assert len(panel.run_combo.run_ids()) == 2 and panel.result is None  # hidden: nothing computed yet
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        w.adversarial_dock.raise_()
    assert panel.result is not None
    w.document.undo_stack.setClean()
