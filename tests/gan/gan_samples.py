"""Helpers of the GAN tests: the example paths and a tiny MLP GAN on the ring of Gaussians."""

from __future__ import annotations

from dlstudio import RESOURCES
from dlstudio.graph import Graph
from dlstudio.project import DatasetRef, TrainingSettings, new_project
from dlstudio.project.schema import GanSettings

DCGAN = RESOURCES / "examples" / "dcgan_digits.dlsproj"
RING = RESOURCES / "examples" / "mlp_gan_ring.dlsproj"


def mlp(sizes: list[int], input_size: int, last_activation: str = "linear", name: str = "x") -> Graph:
    g = Graph()
    prev = g.add_node("Input", {"shape": [input_size]}, name=name, pos=(0, 0))
    for i, units in enumerate(sizes):
        act = "relu" if i < len(sizes) - 1 else last_activation
        node = g.add_node("Dense", {"units": units, "activation": act}, name=f"dense{i}", pos=(0, 100 * (i + 1)))
        g.connect(prev.id, node.id)
        prev = node
    return g


def tiny_gan(latent: int = 4, epochs: int = 2, d_activation: str = "linear", **gan):
    """A small MLP GAN on the ring of 8 Gaussians."""
    p = new_project("tiny GAN")
    p.graph = mlp([32, 32, 2], latent, name="z")
    p.graphs = {"discriminator": mlp([32, 32, 1], 2, d_activation, name="point")}
    p.dataset = DatasetRef(name="ring", options={"samples": 800})
    p.training = TrainingSettings(epochs=epochs, batch_size=64, validation_split=0.0)
    p.gan = GanSettings(latent_dim=latent, g_learning_rate=0.002, d_learning_rate=0.002, sample_every=10,
                        **gan)
    return p
