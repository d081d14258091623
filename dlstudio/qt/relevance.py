"""Which docks a project is shown, decided in one place from what it is
(:func:`dlstudio.data.purpose.project_kind`): a GAN gets the GAN panel and none of
the classifier's views; an autoencoder its reconstructions; a text or time-series
model its samples or forecasts. View > Panels still opens any dock by hand."""

from __future__ import annotations

from typing import Any

from dlstudio.data.purpose import AUTOENCODER, CLASSIFIER, FORECASTER, GAN, REGRESSOR, TEXT, project_kind

#: The docks that serve only some kinds of project (window attribute names).
KIND_DOCKS = ("insight_dock", "evaluation_dock", "predict_dock", "adversarial_dock", "autoencoder_dock",
              "text_dock", "forecast_dock", "gan_dock", "projector_dock")

DOCKS_FOR: dict[str, frozenset[str]] = {
    CLASSIFIER: frozenset({"insight_dock", "evaluation_dock", "predict_dock", "adversarial_dock", "projector_dock"}),
    REGRESSOR: frozenset({"insight_dock", "evaluation_dock", "predict_dock"}),
    AUTOENCODER: frozenset({"insight_dock", "autoencoder_dock", "projector_dock"}),  # its codes, by class
    TEXT: frozenset({"insight_dock", "evaluation_dock", "predict_dock", "text_dock", "projector_dock"}),
    FORECASTER: frozenset({"insight_dock", "evaluation_dock", "predict_dock", "forecast_dock"}),
    GAN: frozenset({"gan_dock"}),
}


def document_kind(document: Any) -> str:
    """The kind of the project a document (or a GAN's graph tab document) belongs to."""
    project = getattr(getattr(document, "main", document), "project", None)
    return project_kind(project) if project is not None else CLASSIFIER


def show_relevant_docks(window: Any, document: Any) -> str:
    """Show the docks that serve ``document``'s project and hide the others; returns its kind."""
    kind = document_kind(document)
    wanted = DOCKS_FOR[kind]
    for name in KIND_DOCKS:
        dock = getattr(window, name, None)
        if dock is not None:
            dock.setVisible(name in wanted)
    return kind
