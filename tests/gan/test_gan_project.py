"""GAN projects: the schema (round trip, located errors, old files unchanged) and
the checks across the generator and the discriminator."""

from __future__ import annotations

import json

import pytest
from gan_samples import DCGAN, RING, tiny_gan

from dlstudio.gan.project import GanError, extra_problems, gan_pair, graph_named
from dlstudio.project import (
    ProjectError,
    load_project,
    project_from_dict,
    project_to_dict,
    save_project,
)


@pytest.mark.parametrize("path", [DCGAN, RING], ids=lambda p: p.stem)
def test_templates_load_as_valid_gans_with_notes(path):
    project = load_project(path)
    assert project.gan is not None and set(project.graphs) == {"discriminator"}
    assert project.name and len(project.notes) > 200 and "expect" in project.notes
    pair = gan_pair(project)
    assert pair.problems == []
    assert pair.generator is project.graph and pair.discriminator is project.graphs["discriminator"]


def test_dcgan_template_uses_the_dcgan_layers():
    project = load_project(DCGAN)
    types = {n.type for n in project.graph.nodes} | {n.type for n in project.graphs["discriminator"].nodes}
    assert {"Conv2DTranspose", "BatchNormalization", "LeakyReLU", "Reshape"} <= types
    pair = gan_pair(project)
    assert pair.sample_shape == (8, 8, 1) and pair.output_range == (-1.0, 1.0)
    assert not pair.d_gives_probability  # one logit


def test_round_trip_keeps_graphs_and_gan_settings(tmp_path):
    project = tiny_gan(label_smoothing=0.1, loss="minimax")
    path = save_project(project, tmp_path / "gan.dlsproj")
    loaded = load_project(path)
    assert loaded.gan == project.gan
    assert loaded.graphs["discriminator"].to_dict() == project.graphs["discriminator"].to_dict()
    assert loaded.graph.to_dict() == project.graph.to_dict()
    assert project_to_dict(loaded) == project_to_dict(project)


def test_ordinary_projects_are_written_without_the_new_keys():
    data = json.loads((DCGAN.parent / "xor_mlp.dlsproj").read_text())
    project = project_from_dict(data)
    assert project.graphs == {} and project.gan is None
    out = project_to_dict(project)
    assert "graphs" not in out and "gan" not in out


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["gan"].update(latent_dim=0), "gan.latent_dim: should be greater than or equal to 1"),
    (lambda d: d["gan"].update(label_smoothing=0.7), "gan.label_smoothing"),
    (lambda d: d["gan"].update(discriminator="critic"), "gan.discriminator: no graph named 'critic'"),
    (lambda d: d["gan"].update(discriminator="main"), "must be two different graphs"),
    (lambda d: d["gan"].update(g_optimizer="lbfgs"), "gan.g_optimizer"),
    (lambda d: d["gan"].update(colour="red"), "gan.colour: unknown key"),
    (lambda d: d["graphs"]["discriminator"]["nodes"][1].update(type="Dense3000"),
     "graphs.discriminator.nodes[1] (id 'n2', 'conv1').type: unknown layer type 'Dense3000'"),
    (lambda d: d["graphs"]["discriminator"]["edges"][0].update(dst="nowhere"),
     "graphs.discriminator.edges[0] (id 'e3').dst: no node with id 'nowhere'"),
])
def test_bad_gan_files_give_located_errors(dcgan_dict, change, expected):
    change(dcgan_dict)
    with pytest.raises(ProjectError) as info:
        project_from_dict(dcgan_dict, source="dcgan.dlsproj")
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_graph_named_says_which_graphs_exist():
    project = tiny_gan()
    assert graph_named(project, "main") is project.graph
    with pytest.raises(GanError, match="main, discriminator"):
        graph_named(project, "critic")


# ------------------------------------------------------------ cross-graph checks
def test_generator_output_must_fit_the_discriminator_input_and_both_nodes_are_named():
    project = load_project(DCGAN)
    d = project.graphs["discriminator"]
    d_in = next(n for n in d.nodes if n.type == "Input")
    d.set_param(d_in.id, "shape", [16, 16, 1])
    pair = gan_pair(project)
    g_out = pair.g_output
    [problem] = [p for p in pair.problems if "expects" in p.message]
    assert problem.node_ids == (g_out, d_in.id)
    assert "generator output Conv2D 'image' gives (batch, 8, 8, 1)" in problem.message
    assert "discriminator input Input 'image' expects (batch, 16, 16, 1)" in problem.message
    assert "[8, 8, 1]" in problem.hint
    assert problem in extra_problems(project)


def test_latent_size_and_one_unit_score_are_checked():
    project = tiny_gan(latent=4)
    project.gan.latent_dim = 6
    d = project.graphs["discriminator"]
    last = next(n for n in d.nodes if n.name == "dense2")
    d.set_param(last.id, "units", 3)
    messages = [p.message for p in gan_pair(project).problems]
    assert any("latent vector has 6 values" in m for m in messages)
    assert any("discriminator output Dense 'dense2' gives (batch, 3)" in m for m in messages)


def test_problems_inside_the_discriminator_are_reported_with_its_role():
    project = tiny_gan()
    d = project.graphs["discriminator"]
    d.set_param(next(n.id for n in d.nodes if n.name == "dense0"), "units", -3)
    assert any(p.message.startswith("discriminator:") for p in extra_problems(project))


def test_a_valid_gan_has_no_extra_problems():
    assert extra_problems(tiny_gan()) == []
