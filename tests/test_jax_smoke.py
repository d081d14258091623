"""Smoke test on Keras' JAX backend: the same engine, CLI and shape pass."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from dlstudio import RESOURCES


def run_jax(*args: str, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "dlstudio", *args], capture_output=True, text=True,
                          timeout=600, env=env, cwd=cwd)


def test_train_and_summary_on_jax(tmp_path):
    project = str(RESOURCES / "examples" / "digits_cnn.dlsproj")
    proc = run_jax("summary", project, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["total_params"] > 0
    proc = run_jax("train", project, "--epochs", "2", "--run-dir", str(tmp_path / "runs"), "--json",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["epochs"] == 2 and result["test_accuracy"] > 0.5
    run = json.loads((next((tmp_path / "runs").iterdir()) / "run.json").read_text())
    assert run["backend"] == "jax" and run["status"] == "finished"


def test_backend_sensitive_checks_pass_on_jax(tmp_path):
    """Checks whose code differs per backend, run on JAX: the analytic saliency checks
    (a linear model's saliency is its weights, the logits are used under a softmax)
    and Grad-CAM (spatial size, by hand) -- jax.grad instead of GradientTape -- and
    several training steps per call giving the same per-batch losses as one step per
    call (the step-loss ring is read from JAX's training state mid-epoch), and the gradient
    flow recorded inside JAX's pure train step (an optimizer variable threaded through it)."""
    tests = RESOURCES.parent / "tests"
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(tests / "insight" / "test_saliency.py"),
         str(tests / "training" / "test_engine.py"), str(tests / "training" / "test_step_gradients.py"),
         "-q", "-p", "no:cacheprovider", "-k",
         "linear_model or uses_the_logits or grad_cam or several_steps_per_call or recorded_gradients or every_nth_step",
         "-o", "addopts="],
        capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert re.search(r"\b8 passed", proc.stdout), proc.stdout[-1000:]
    # the subprocess really ran on JAX
    probe = subprocess.run([sys.executable, "-c", "import keras; print(keras.backend.backend())"],
                           capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert probe.stdout.strip() == "jax"
