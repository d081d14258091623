"""What a project is, in one place: a classifier, a regressor, an autoencoder, a text
model, a forecaster or a GAN. The panels and settings a project is shown follow from
it (the Qt shell maps a kind to its docks). Read from the project alone: no data is
loaded."""

from __future__ import annotations

from typing import Any

CLASSIFIER, REGRESSOR, AUTOENCODER, TEXT, FORECASTER, GAN = (
    "classifier", "regressor", "autoencoder", "text", "forecaster", "gan")
KINDS = (CLASSIFIER, REGRESSOR, AUTOENCODER, TEXT, FORECASTER, GAN)

#: Datasets whose models write text or translate (``reviews`` only classifies).
TEXT_DATASETS = frozenset({"hello", "text_corpus", "text_file", "translation"})
#: Registry categories whose datasets have real-valued targets.
REGRESSION_CATEGORIES = frozenset({"regression"})


def project_kind(project: Any) -> str:
    """The kind of ``project`` (a Project, or anything with ``gan`` and ``dataset``)."""
    from dlstudio.data.dataset import DatasetError
    from dlstudio.data.registry import get_dataset_spec

    if getattr(project, "gan", None) is not None:
        return GAN
    dataset = getattr(project, "dataset", None)
    name = getattr(dataset, "name", "") or ""
    options = getattr(dataset, "options", None) or {}
    if options.get("target") == "image":
        return AUTOENCODER
    if options.get("task") == "regression":  # a CSV whose target column was declared real-valued
        return REGRESSOR
    if name in TEXT_DATASETS:
        return TEXT
    try:
        category = get_dataset_spec(name).category if name else ""
    except DatasetError:
        return CLASSIFIER
    if category == "sequences":
        return FORECASTER
    return REGRESSOR if category in REGRESSION_CATEGORIES else CLASSIFIER


#: The training settings a GAN uses (its losses, optimizers and learning rates are the
#: ``gan`` section's); every other kind uses them all.
GAN_TRAINING_SETTINGS = frozenset({"epochs", "batch_size", "seed", "device"})


def uses_training_setting(kind: str, name: str) -> bool:
    """Whether a project of ``kind`` trains with training setting ``name`` (the forms hide the
    others: a GAN has no classifier loss or metrics; adversarial training needs a classifier)."""
    if kind == GAN:
        return name in GAN_TRAINING_SETTINGS
    if name.startswith("adversarial"):
        return kind == CLASSIFIER
    return True
