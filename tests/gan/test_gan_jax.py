"""GAN training on Keras' JAX backend (jax.value_and_grad over stateless_call), through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from gan_samples import RING

pytest.importorskip("jax")


@pytest.mark.slow
def test_the_ring_gan_trains_and_samples_on_jax(tmp_path):
    project = tmp_path / "ring.dlsproj"
    shutil.copy(RING, project)
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "dlstudio", *map(str, args)], check=False, capture_output=True,
                              text=True,
                              timeout=600, env=env, cwd=tmp_path)

    proc = run("train", project, "--epochs", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["steps"] == 3 * (1600 // 128) and result["d_loss"] > 0
    run_info = json.loads((next((tmp_path / "ring.runs").iterdir()) / "run.json").read_text())
    assert run_info["backend"] == "jax" and run_info["status"] == "finished"
    proc = run("sample", project, "-n", "200", "-o", tmp_path / "points.png")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "points.png").read_bytes()[:4] == b"\x89PNG"
