"""The Gallery window: cards by lecture, search, details, pictures, opening an example."""

from __future__ import annotations

import json
import time

import pytest
from PySide6.QtCore import Qt

from dlstudio.gallery import EXAMPLES_DIR, list_examples
from dlstudio.qt.gallery import GalleryWindow, short_text


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def gallery(qtbot):
    window = GalleryWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _wait_pictures(qtbot, window, timeout=60000):
    from dlstudio.qt.keras_loader import loader

    assert loader().wait(120)
    qtbot.waitUntil(lambda: window.pictures_requested and window.thumbnails.pending() == 0
                    and not window.thumbnails._timer.isActive(), timeout=timeout)


def test_window_lists_every_example_under_its_lecture_in_order(gallery):
    entries, _ = list_examples()
    assert set(gallery.cards) == {e.path for e in entries} == set(EXAMPLES_DIR.glob("*.dlsproj"))
    headers = [h.text() for h, _n, _holder, _g, cards in gallery._section_widgets]
    assert headers[0] == "Basics" and headers[-1] == "Adversarial examples"
    basics = [c.entry.stem for c in gallery._section_widgets[0][4]]
    assert basics[:2] == ["perceptron_xor", "xor_mlp"]
    assert gallery.count.text() == f"{len(entries)} examples"
    card = gallery.cards[EXAMPLES_DIR / "small_vgg.dlsproj"]
    assert card.title.text() == "A small VGG network"
    assert card.text.text().endswith("\u2026") and len(card.text.text()) <= 150
    assert "Expected result" in card.toolTip()


def test_cards_flow_into_as_many_columns_as_fit(gallery, qtbot):
    gallery.resize(1400, 800)
    qtbot.waitUntil(lambda: gallery._columns >= 3)
    wide = gallery._columns
    gallery.resize(700, 800)
    qtbot.waitUntil(lambda: gallery._columns < wide)
    grid = gallery._section_widgets[0][3]
    assert grid.columnCount() >= 1 and all(grid.itemAtPosition(0, c) for c in range(gallery._columns))


def test_search_filters_cards_and_hides_empty_lectures(gallery, qtbot):
    qtbot.keyClicks(gallery.search, "vanishing")
    shown = [c.entry.stem for c in gallery.cards.values() if not c.isHidden()]
    assert "deep_sigmoid" in shown and "small_vgg" not in shown
    visible_sections = [h.text() for h, _n, _holder, _g, _c in gallery._section_widgets if not h.isHidden()]
    assert "Convolutional networks" not in visible_sections
    assert gallery.count.text() == f"{len(shown)} of {len(gallery.cards)} examples"
    gallery.search.clear()
    assert all(not c.isHidden() for c in gallery.cards.values())


def test_the_details_follow_the_search(gallery, qtbot):
    """The details pane never describes an example the search hides: a search shows its first
    match; a selected example stays while it matches; no match, no details."""
    gallery.select(gallery.cards[EXAMPLES_DIR / "small_vgg.dlsproj"].entry)
    qtbot.keyClicks(gallery.search, "vanishing")
    shown = [c.entry for c in gallery.cards.values() if not c.isHidden()]
    assert gallery.current in shown and gallery.details.title.text() == gallery.current.title
    kept = gallery.current
    qtbot.keyClicks(gallery.search, " ")
    assert gallery.current == kept  # still shown: still chosen
    gallery.search.setText("no example is called this")
    assert gallery.current is None and gallery.details.title.text() == "Choose an example"
    assert not gallery.details.open_button.isEnabled()


def test_selecting_a_card_shows_the_whole_explanation_and_the_result(gallery, qtbot):
    assert not gallery.details.open_button.isEnabled()
    card = gallery.cards[EXAMPLES_DIR / "deep_sigmoid.dlsproj"]
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton)
    details = gallery.details
    assert details.title.text() == card.entry.title
    assert details.description.text() == card.entry.description
    assert details.result.text().startswith("Expected result after 30 epochs")
    assert "dataset: digits" in details.facts.text()
    assert details.open_button.isEnabled()
    assert card.property("selectedCard") is True
    other = gallery.cards[EXAMPLES_DIR / "xor_mlp.dlsproj"]
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)
    assert card.property("selectedCard") is False and other.property("selectedCard") is True


def test_double_click_enter_and_open_request_the_example(gallery, qtbot):
    path = EXAMPLES_DIR / "small_vgg.dlsproj"
    card = gallery.cards[path]
    with qtbot.waitSignal(gallery.open_requested) as blocker:
        qtbot.mouseDClick(card, Qt.MouseButton.LeftButton)
    assert blocker.args == [path]
    card.setFocus()
    with qtbot.waitSignal(gallery.open_requested) as blocker:
        qtbot.keyClick(card, Qt.Key.Key_Return)
    assert blocker.args == [path]
    gallery.select_path(EXAMPLES_DIR / "xor_mlp.dlsproj")
    with qtbot.waitSignal(gallery.open_requested) as blocker:
        gallery.details.open_button.click()
    assert blocker.args == [EXAMPLES_DIR / "xor_mlp.dlsproj"]


def test_pictures_are_drawn_after_showing_then_cached_on_disk(gallery, qtbot, tmp_path):
    _wait_pictures(qtbot, gallery)
    for card in gallery.cards.values():
        pixmap = card.picture.pixmap()
        assert pixmap is not None and not pixmap.isNull(), card.entry.stem
    image = gallery.cards[EXAMPLES_DIR / "xor_mlp.dlsproj"].picture.pixmap().toImage()
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 5, "a drawing, not a blank picture"
    cached = list((tmp_path / "config" / "gallery-thumbnails").glob("*.png"))
    assert len(cached) == len(gallery.cards)
    # a second window takes every picture from the cache at once
    second = GalleryWindow()
    qtbot.addWidget(second)
    t0 = time.perf_counter()
    second.show()
    qtbot.waitUntil(lambda: second.pictures_requested)
    assert second.thumbnails.pending() == 0
    assert all(c.picture.pixmap() is not None and not c.picture.pixmap().isNull() for c in second.cards.values())
    assert time.perf_counter() - t0 < 5


def test_a_tall_chain_is_wrapped_into_columns_and_short_graphs_are_not(qtbot):
    from dlstudio.project import load_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.editor.scene import GraphScene
    from dlstudio.qt.gallery_thumbnails import wrap_columns
    from dlstudio.qt.keras_loader import loader

    assert loader().wait(120)
    for stem, wrapped in (("relu_he_batchnorm", True), ("xor_mlp", False)):
        document = Document(load_project(EXAMPLES_DIR / f"{stem}.dlsproj"))
        scene = GraphScene(document)
        before = scene.items_rect()
        columns = wrap_columns(scene, 248 / 150)
        after = scene.items_rect()
        if wrapped:
            assert columns > 1 and after.height() < before.height() / 2 and after.width() > before.width()
            hidden = [e for e in scene.edge_items.values() if not e.isVisible()]
            assert len(hidden) == columns - 1  # one wire between each pair of columns
        else:
            assert columns == 1 and after == before
        scene.detach()


def test_a_broken_file_is_named_and_its_picture_fails_with_a_message(qtbot, tmp_path):
    folder = tmp_path / "examples"
    folder.mkdir()
    (folder / "broken.dlsproj").write_text("{", encoding="utf-8")
    doc = json.loads((EXAMPLES_DIR / "xor_mlp.dlsproj").read_text(encoding="utf-8"))
    doc["graph"]["nodes"][1]["type"] = "NoSuchLayer"
    (folder / "bad_layer.dlsproj").write_text(json.dumps(doc), encoding="utf-8")
    window = GalleryWindow(folder=folder)
    qtbot.addWidget(window)
    window.show()
    assert [c.entry.stem for c in window.cards.values()] == ["bad_layer"]
    assert any("broken.dlsproj" in w.text() for w in window.content.findChildren(type(window.count)))
    _wait_pictures(qtbot, window)
    card = window.cards[folder / "bad_layer.dlsproj"]
    assert card.picture.text().startswith("no picture:") and "bad_layer.dlsproj" in card.picture.text()


def test_short_text_cuts_at_a_word():
    assert short_text("short") == "short"
    text = short_text("word " * 100, 30)
    assert len(text) <= 30 and text.endswith("word\u2026")


def test_main_window_menu_opens_the_gallery_and_an_example_as_an_untitled_copy(qtbot, tmp_path):
    from dlstudio.qt.keras_loader import loader
    from dlstudio.qt.main_window import MainWindow

    assert loader().wait(120)
    window = MainWindow()
    qtbot.addWidget(window)
    actions = {a.text(): a for m in window.menuBar().findChildren(type(window.examples_menu)) for a in m.actions()}
    assert "&Gallery\u2026" in actions and "Example &Gallery\u2026" in actions
    actions["&Gallery\u2026"].trigger()
    gallery = window._gallery_window
    assert gallery.isVisible()
    actions["Example &Gallery\u2026"].trigger()
    assert window._gallery_window is gallery  # one gallery per window, raised again
    path = EXAMPLES_DIR / "autoencoder_digits.dlsproj"
    gallery.open_requested.emit(path)
    assert not gallery.isVisible()
    assert window.document.project.name == "Autoencoder with a 2-D code"
    assert window.document.path is None  # an untitled copy: the example stays intact
    assert len(window.document.graph) == 9


def test_pictures_follow_the_theme(gallery, qtbot, restore_app_look):
    from PySide6.QtWidgets import QApplication

    from dlstudio.qt.theme import apply_theme, current_mode, is_dark

    _wait_pictures(qtbot, gallery)
    card = gallery.cards[EXAMPLES_DIR / "xor_mlp.dlsproj"]
    before = card.picture.pixmap().toImage().pixelColor(2, 2).lightness()
    app = QApplication.instance()
    old = current_mode(app)
    try:
        apply_theme(app, "light" if is_dark(gallery.palette()) else "dark", remember=False)
        qtbot.waitUntil(lambda: gallery.thumbnails.dark == is_dark(gallery.palette()))
        _wait_pictures(qtbot, gallery)
        after = card.picture.pixmap().toImage().pixelColor(2, 2).lightness()
        assert abs(after - before) > 100  # the canvas background of the other theme
    finally:
        apply_theme(app, old, remember=False)


def test_arrow_keys_move_between_cards(gallery, qtbot):
    gallery.resize(1240, 780)
    qtbot.waitUntil(lambda: gallery._columns >= 2)
    basics = gallery._section_widgets[0][4]
    first = basics[0]
    first.setFocus()
    qtbot.waitUntil(first.hasFocus)
    qtbot.keyClick(first, Qt.Key.Key_Right)
    assert basics[1].hasFocus() and gallery.current is basics[1].entry  # focus selects
    qtbot.keyClick(basics[1], Qt.Key.Key_Left)
    assert first.hasFocus()
    qtbot.keyClick(first, Qt.Key.Key_Down)
    assert basics[gallery._columns].hasFocus()  # the card below, same column
    qtbot.keyClick(basics[gallery._columns], Qt.Key.Key_Up)
    assert first.hasFocus()
    qtbot.keyClick(first, Qt.Key.Key_Up)  # nothing above the first card
    assert first.hasFocus()
