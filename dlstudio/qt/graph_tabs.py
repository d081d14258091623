"""Several graphs in one project, as tabs of the central area (a GAN's
generator and discriminator), each edited with the ordinary scene and view.

The main window calls :func:`release_graph_tabs` at the start of
``set_document`` and :func:`install_graph_tabs` at its end. A project with
extra ``graphs`` then shows a tab per graph; switching tabs makes that
graph's document, scene and view the window's current ones, so the editing
actions (add, delete, copy, paste, layout) and the graph panels (inspector,
summary, problems) work on the graph in front. Project-wide panels
(training, data, runs, GAN) keep following the main document.

A :class:`GraphDocument` shares the main document's project, undo stack
(one history and one "modified" state for the whole project) and saving.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QTabWidget

from dlstudio.graph import Graph
from dlstudio.project.schema import MAIN_GRAPH
from dlstudio.qt.document import Document


class GraphDocument(Document):
    """One more graph of ``main``'s project (``project.graphs[name]``)."""

    def __init__(self, main: Document, name: str):
        self.main = main
        self.graph_name = name
        super().__init__(main.project, parent=main)
        self.undo_stack.deleteLater()
        self.undo_stack = main.undo_stack
        main.path_changed.connect(self.path_changed)
        self.project_data = main.project_data  # one dataset for the project's graphs
        self.project_data.changed.connect(self.schedule_analysis)

    @property
    def graph(self) -> Graph:
        return self.project.graphs[self.graph_name]

    def save(self, path: str | Path | None = None) -> Path:
        return self.main.save(path)


@dataclass
class _Tab:
    name: str
    document: Document
    scene: Any
    view: Any


@dataclass
class GraphTabs:
    widget: QTabWidget
    tabs: list[_Tab] = field(default_factory=list)

    def tab(self, name: str) -> _Tab:
        return next(t for t in self.tabs if t.name == name)


def _pair_problems(document: Document, name: str):
    """A problem source for ``document`` (graph ``name``): the GAN checks across graphs, from
    this graph's fresh analysis and the other graph's last one."""

    def source(analysis) -> list:
        from dlstudio.gan.project import GanError, cross_graph_problems, gan_pair

        project = document.project
        if project.gan is None:
            return []
        tabs = getattr(document, "_graph_tabs_ref", None)
        analyses = {name: analysis}
        for tab in tabs.tabs if tabs is not None else ():
            if tab.name != name and tab.document.analysis is not None:
                analyses[tab.name] = tab.document.analysis
        role = "generator" if name == project.gan.generator else "discriminator"
        try:
            return cross_graph_problems(gan_pair(project, analyses), only=role)  # this tab's node ids
        except GanError as exc:
            from dlstudio.graph import Problem

            return [Problem(str(exc))]

    return source


def install_graph_tabs(window: Any, document: Document) -> GraphTabs | None:
    """Show ``document``'s graphs as tabs when it has more than one (None otherwise)."""
    from dlstudio.gan.project import role_title
    from dlstudio.qt.editor.scene import GraphScene
    from dlstudio.qt.editor.view import GraphView

    project = document.project
    if not getattr(project, "graphs", None):
        return None
    widget = QTabWidget(window.canvas_stack)
    widget.setObjectName("graph_tabs")
    widget.setDocumentMode(True)
    tabs = GraphTabs(widget, [_Tab(MAIN_GRAPH, document, window.scene, window.view)])
    window.canvas_stack.removeWidget(window.view)
    widget.addTab(window.view, role_title(project, MAIN_GRAPH).capitalize())
    for name in project.graphs:
        doc = GraphDocument(document, name)
        scene = GraphScene(doc, window)
        scene.message.connect(lambda text: window.statusBar().showMessage(text, 6000))
        scene.selectionChanged.connect(window._selection_changed)
        view = GraphView(scene, window)
        view.zoom_changed.connect(lambda z: window.zoom_label.setText(f"{z * 100:.0f}%"))
        widget.addTab(view, role_title(project, name).capitalize())
        tabs.tabs.append(_Tab(name, doc, scene, view))
    gan = project.gan
    for tab in tabs.tabs:
        tab.document._graph_tabs_ref = tabs
        if gan is not None:
            tab.document.takes_dataset = tab.name == gan.discriminator  # the generator's Input is noise
            tab.document.problem_sources.append(_pair_problems(tab.document, tab.name))
        widget.setTabToolTip(tabs.tabs.index(tab), _tab_tip(project, tab.name))
    window.canvas_stack.addWidget(widget)
    window.canvas_stack.setCurrentWidget(widget)
    widget.currentChanged.connect(lambda index: _switch(window, tabs, index))
    window._graph_tabs = tabs
    document.schedule_analysis()
    gan_dock = getattr(window, "gan_dock", None)
    if gan is not None and gan_dock is not None:
        gan_dock.raise_()
    return tabs


def _tab_tip(project: Any, name: str) -> str:
    gan = project.gan
    if gan is not None and name == gan.generator:
        return f"The generator: turns {gan.latent_dim} random numbers (the latent vector z) into a sample"
    if gan is not None and name == gan.discriminator:
        return "The discriminator: scores a sample as real (training data) or fake (the generator's)"
    return f"Graph '{name}'"


def _switch(window: Any, tabs: GraphTabs, index: int) -> None:
    if not 0 <= index < len(tabs.tabs):
        return
    tab = tabs.tabs[index]
    window.document, window.scene, window.view = tab.document, tab.scene, tab.view
    for panel in (window.inspector, window.summary, window.problems):
        panel.set_document(tab.document)
    window.inspector.set_node(None)
    tab.document.analyze_now()
    if not tab.view.property("fitted"):
        tab.view.setProperty("fitted", True)
        tab.view.fit_all()


def current_graph_name(window: Any) -> str:
    tabs = getattr(window, "_graph_tabs", None)
    if tabs is None:
        return MAIN_GRAPH
    return tabs.tabs[tabs.widget.currentIndex()].name


def show_graph(window: Any, name: str) -> None:
    """Bring the tab of graph ``name`` to the front."""
    tabs = getattr(window, "_graph_tabs", None)
    if tabs is not None:
        tabs.widget.setCurrentIndex(tabs.tabs.index(tabs.tab(name)))


def release_graph_tabs(window: Any) -> None:
    """Undo :func:`install_graph_tabs` before the window takes another document."""
    tabs = getattr(window, "_graph_tabs", None)
    if tabs is None:
        return
    window._graph_tabs = None
    main = tabs.tabs[0]
    try:
        tabs.widget.currentChanged.disconnect()
    except (RuntimeError, TypeError):
        pass
    window.document, window.scene, window.view = main.document, main.scene, main.view
    for panel in (window.inspector, window.summary, window.problems):
        panel.set_document(main.document)
    for tab in tabs.tabs[1:]:
        tab.scene.detach()
        tab.scene.deleteLater()
    tabs.widget.removeTab(0)
    main.view.setParent(None)
    window.canvas_stack.addWidget(main.view)
    window.canvas_stack.setCurrentWidget(main.view)
    window.canvas_stack.removeWidget(tabs.widget)
    tabs.widget.deleteLater()
