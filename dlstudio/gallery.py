"""The gallery of lecture examples: every ``resources/examples/*.dlsproj``, with
its title, what it shows, the result it claims and its place in the lectures.

An example file is a plain project. Its ``name`` is the title; the first
paragraph of its ``notes`` says what it shows, the rest the result to expect
after its full training budget (the project's own settings). The category
and the order follow the lectures: known examples are placed by
:data:`LECTURE_ORDER`; any other file is placed by what it holds (a GAN, a
recurrent layer or sequence data, convolutions, ...) and sorted by title
after the known ones of its category, so a new file joins the gallery
without touching this module.

Listing reads the files as JSON only (no Keras, no catalog): fast enough for a
window to open at once. ``dlstudio.project.load_project`` opens an entry
fully. No Qt here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlstudio import RESOURCES
from dlstudio.errors import DLStudioError

EXAMPLES_DIR = RESOURCES / "examples"

#: Categories in lecture order: (key, title, one line about it).
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("basics", "Basics", "Perceptron, MLP, loss functions"),
    ("regularisation", "Training deep networks and regularisation",
     "Vanishing gradients, initialisation, batch normalisation, dropout, early stopping, augmentation"),
    ("cnn", "Convolutional networks", "Convolutions, pooling, VGG, ResNet, Inception"),
    ("sequences", "Sequences", "RNN, LSTM, bidirectional, seq2seq, forecasting"),
    ("generative", "Generative models", "Autoencoders and GANs"),
    ("adversarial", "Adversarial examples", "Small perturbations that flip a prediction"),
)
CATEGORY_KEYS = tuple(key for key, _, _ in CATEGORIES)

#: Known examples (file stems) in lecture order, per category.
LECTURE_ORDER: dict[str, tuple[str, ...]] = {
    "basics": ("perceptron_xor", "xor_mlp", "spiral_mlp", "sine_regression", "moons_classification"),
    "regularisation": ("deep_sigmoid", "relu_he_batchnorm", "overfitting_mlp", "dropout_early_stopping",
                       "augmentation_digits"),
    "cnn": ("digits_cnn", "small_vgg", "resnet_block", "inception_block", "projector_digits",
            "saliency_sanity_digits"),
    "sequences": ("char_lstm_hello", "char_lstm_corpus", "bilstm_classifier", "seq2seq_dates",
                  "forecast_sine"),
    "generative": ("autoencoder_digits", "mlp_gan_ring", "dcgan_digits"),
    "adversarial": ("adversarial_digits",),
}
_KNOWN = {stem: (cat, i) for cat, stems in LECTURE_ORDER.items() for i, stem in enumerate(stems)}

RECURRENT = {"LSTM", "GRU", "SimpleRNN", "Bidirectional", "Embedding", "TimeDistributed", "RepeatVector",
             "Conv1D"}
SEQUENCE_DATASETS = {"sine_series", "text_corpus", "hello", "imdb", "text_file", "translation", "reviews"}
CONVOLUTIONS = {"Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose", "MaxPooling2D"}


@dataclass(frozen=True)
class GalleryEntry:
    """One example of the gallery."""

    path: Path
    title: str
    description: str  # the first paragraph of the notes: what it shows
    claim: str  # the rest of the notes: the result to expect after the full budget
    category: str  # a key of CATEGORIES
    order: int  # place within the category
    dataset: str = ""
    epochs: int = 0
    layers: int = 0
    layer_types: tuple[str, ...] = field(default=(), repr=False)

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def category_title(self) -> str:
        return category_title(self.category)

    @property
    def notes(self) -> str:
        return "\n\n".join(p for p in (self.description, self.claim) if p)


class GalleryError(DLStudioError, ValueError):
    """An example file that cannot be listed; the message names the file and why."""


def category_title(key: str) -> str:
    return next((title for k, title, _ in CATEGORIES if k == key), key)


def split_notes(notes: str) -> tuple[str, str]:
    """(first paragraph, the rest) of an example's notes, paragraphs separated by blank lines."""
    paragraphs = [" ".join(p.split()) for p in notes.replace("\r\n", "\n").split("\n\n")]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        return "", ""
    return paragraphs[0], "\n\n".join(paragraphs[1:])


def _layer_types(doc: dict[str, Any]) -> list[str]:
    graphs = [doc.get("graph")] + list((doc.get("graphs") or {}).values())
    types = []
    for g in graphs:
        for node in (g or {}).get("nodes", []) if isinstance(g, dict) else []:
            if isinstance(node, dict) and isinstance(node.get("type"), str):
                types.append(node["type"])
    return types


def infer_category(stem: str, doc: dict[str, Any]) -> str:
    """The category of an example not in :data:`LECTURE_ORDER`, from what it holds."""
    types = set(_layer_types(doc))
    dataset = (doc.get("dataset") or {}).get("name", "") if isinstance(doc.get("dataset"), dict) else ""
    training = doc.get("training") if isinstance(doc.get("training"), dict) else {}
    words = stem.lower()
    if doc.get("gan") is not None or "gan" in words.split("_") or "autoencoder" in words:
        return "generative"
    if "adversarial" in words or training.get("adversarial", "none") != "none":
        return "adversarial"
    if types & RECURRENT or dataset in SEQUENCE_DATASETS:
        return "sequences"
    if types & CONVOLUTIONS:
        return "cnn"
    if types & {"Dropout", "BatchNormalization"} or training.get("early_stopping_patience"):
        return "regularisation"
    return "basics"


def read_entry(path: str | Path) -> GalleryEntry:
    """The gallery entry of one example file (read as JSON; GalleryError if unreadable)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise GalleryError(f"{path.name}: cannot be read as a project file ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise GalleryError(f"{path.name}: not a project file (no 'name')")
    notes = doc.get("notes") if isinstance(doc.get("notes"), str) else ""
    description, claim = split_notes(notes)
    stem = path.stem
    category, order = _KNOWN.get(stem, (infer_category(stem, doc), 1000))
    dataset = doc.get("dataset") if isinstance(doc.get("dataset"), dict) else {}
    training = doc.get("training") if isinstance(doc.get("training"), dict) else {}
    types = _layer_types(doc)
    epochs = training.get("epochs", 0)
    return GalleryEntry(path, doc["name"], description, claim, category, order,
                        str(dataset.get("name", "")), epochs if isinstance(epochs, int) else 0,
                        len(types), tuple(types))


def list_examples(folder: str | Path = EXAMPLES_DIR) -> tuple[list[GalleryEntry], list[str]]:
    """(entries in lecture order, a message for each file that could not be read)."""
    entries, problems = [], []
    for path in sorted(Path(folder).glob("*.dlsproj")):
        try:
            entries.append(read_entry(path))
        except GalleryError as exc:
            problems.append(str(exc))
    rank = {key: i for i, key in enumerate(CATEGORY_KEYS)}
    entries.sort(key=lambda e: (rank.get(e.category, len(rank)), e.order, e.title.lower()))
    return entries, problems


def by_category(entries: list[GalleryEntry]) -> list[tuple[str, list[GalleryEntry]]]:
    """The entries grouped under their categories, in lecture order (empty categories left out)."""
    groups = [(key, [e for e in entries if e.category == key]) for key in CATEGORY_KEYS]
    return [(key, items) for key, items in groups if items]


def matches(entry: GalleryEntry, text: str) -> bool:
    """True when every word of ``text`` occurs in the entry's title, notes, dataset or layer types."""
    haystack = " ".join((entry.title, entry.description, entry.claim, entry.dataset, entry.stem,
                         entry.category_title, *entry.layer_types)).lower()
    return all(word in haystack for word in text.lower().split())
