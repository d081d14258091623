"""Training on several devices: mirrored on one machine (the CPU split into two
logical devices, in a subprocess), and two multi-worker processes on localhost."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dlstudio import RESOURCES
from dlstudio.training.distributed import ClusterRole, cluster_role

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra) -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", KERAS_BACKEND="tensorflow",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


# --------------------------------------------------------------------------- TF_CONFIG


def test_cluster_role_reads_tf_config():
    two = {"cluster": {"worker": ["h1:1", "h2:2"]}, "task": {"type": "worker", "index": 1}}
    assert cluster_role(json.dumps(two)) == ClusterRole("worker", 1, 2, False)
    assert not cluster_role(json.dumps(two)).is_chief
    assert cluster_role(json.dumps({**two, "task": {"type": "worker", "index": 0}})).is_chief
    with_chief = {"cluster": {"chief": ["c:1"], "worker": ["h1:1"]}, "task": {"type": "worker", "index": 0}}
    role = cluster_role(json.dumps(with_chief))
    assert role.workers == 2 and not role.is_chief
    assert cluster_role(json.dumps({**with_chief, "task": {"type": "chief", "index": 0}})).is_chief


@pytest.mark.parametrize(("text", "message"), [
    ("", "TF_CONFIG is not set"),
    ("{not json", "TF_CONFIG is not a valid cluster description"),
    ('{"cluster": {"worker": ["a:1"]}}', "TF_CONFIG is not a valid cluster description.*task"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}',
     "task index 3 but the cluster has 1 worker"),
])
def test_bad_tf_config_is_explained(text, message):
    from dlstudio.training.engine import TrainingError

    with pytest.raises(TrainingError, match=message):
        cluster_role(text)


def test_distributed_cli_without_tf_config_says_what_to_set(tmp_path):
    project = tmp_path / "xor.dlsproj"
    shutil.copy(RESOURCES / "examples" / "xor_mlp.dlsproj", project)
    proc = subprocess.run([sys.executable, "-m", "dlstudio", "train", str(project), "--distributed"],
                          env=_env(), capture_output=True, text=True, timeout=180, cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert "TF_CONFIG is not set" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "xor.runs").exists()


# --------------------------------------------------------------------------- mirrored


def test_mirrored_is_refused_with_one_device():
    from dlstudio.data import load_dataset
    from dlstudio.graph import Graph
    from dlstudio.training.engine import TrainingError, train

    g = Graph()
    x = g.add_node("Input", {"shape": [2]}, name="x")
    o = g.add_node("Dense", {"units": 1, "activation": "sigmoid"}, name="out")
    g.connect(x.id, o.id)
    with pytest.raises(TrainingError, match="trains on several GPUs at once, but this machine has 0 GPU"):
        train(g, load_dataset("xor", {"samples": 40}, seed=0), {"epochs": 1, "device": "mirrored"})


MIRRORED_SCRIPT = textwrap.dedent("""
    import json
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from dlstudio.data import load_dataset
    from dlstudio.graph import Graph
    from dlstudio.training.engine import TrainingError, train

    g = Graph()
    x = g.add_node("Input", {"shape": [2]}, name="x")
    h = g.add_node("Dense", {"units": 8, "activation": "tanh"}, name="h")
    o = g.add_node("Dense", {"units": 1, "activation": "sigmoid"}, name="out")
    g.connect(x.id, h.id)
    g.connect(h.id, o.id)
    data = load_dataset("xor", {"samples": 200}, seed=1)
    n = len(data.x_train) // 2 * 2
    data.x_train, data.y_train = data.x_train[:n], data.y_train[:n]
    full = {"epochs": 3, "batch_size": n, "learning_rate": 0.05, "validation_split": 0.0, "seed": 3}
    mirrored = train(g, data, {**full, "device": "mirrored"})
    single = train(g, data, {**full, "device": "cpu"})
    small = train(g, data, {**full, "batch_size": 16, "epochs": 4, "device": "mirrored"})
    try:
        train(g, data, {**full, "batch_size": 15, "device": "mirrored"})
        odd = None
    except TrainingError as exc:
        odd = str(exc)
    print(json.dumps({
        "replicas": mirrored.model.distribute_strategy.num_replicas_in_sync,
        "mirrored": mirrored.history["loss"], "single": single.history["loss"], "small": small.history["loss"],
        "weights": max(float(abs(a - b).max()) for a, b in zip(mirrored.model.get_weights(),
                                                                single.model.get_weights())),
        "odd": odd}))
""")


@pytest.mark.slow
def test_mirrored_on_two_logical_devices_matches_one_device():
    proc = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], env=_env(), capture_output=True, text=True,
                          timeout=300, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    # one full batch per epoch, split 50/50: the same steps as on one device
    assert out["mirrored"] == pytest.approx(out["single"], rel=1e-4)
    assert out["weights"] < 1e-4
    assert out["small"][-1] < out["small"][0], "mirrored mini-batch training learns"
    assert "set the batch size to a multiple of 2 (it is 15)" in out["odd"]


# --------------------------------------------------------------------------- multi-worker


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _h5_arrays(path: Path) -> dict[str, np.ndarray]:
    import h5py

    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as fh:
        fh["layers"].visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset)
                                else None)
    return out


@pytest.mark.slow
def test_two_workers_on_localhost_finish_agree_and_learn(tmp_path):
    project = tmp_path / "xor.dlsproj"
    shutil.copy(RESOURCES / "examples" / "xor_mlp.dlsproj", project)
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs = []
    for index in range(2):
        config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "dlstudio", "train", str(project), "--distributed", "--json", "--epochs", "4",
             "--run-dir", str(tmp_path / "runs"), "--worker-dir", str(tmp_path / f"worker{index}")],
            env=_env(TF_CONFIG=config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path))
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-3000:]
            outputs.append((json.loads(out.strip().splitlines()[-1]), err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    (chief, chief_log), (other, other_log) = outputs
    assert "2 replica(s) on 2 worker(s), this is worker 0" in chief_log
    assert "epoch 4/4" in chief_log and "epoch 4/4" in other_log
    # only the chief writes a run; the other worker kept its copy where --worker-dir said
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and chief["run"] == str(runs[0]) and other["run"] is None
    info = json.loads((runs[0] / "run.json").read_text())
    assert info["status"] == "finished" and info["distributed"] == {"workers": 2, "replicas": 2}
    history = json.loads((runs[0] / "history.json").read_text())
    assert len(history["loss"]) == 4 and history["loss"][-1] < history["loss"][0], "it learns"
    # both workers took the same steps: the same final weights and metrics
    a, b = _h5_arrays(runs[0] / "model.weights.h5"), _h5_arrays(tmp_path / "worker1" / "model.weights.h5")
    assert a.keys() == b.keys() and a
    assert max(float(np.max(np.abs(a[k] - b[k]))) for k in a) <= 1e-6
    assert chief["test_loss"] == pytest.approx(other["test_loss"], abs=1e-6)
    assert (runs[0] / "optimizer.npz").is_file()


JAX_SCRIPT = textwrap.dedent("""
    import json
    import tempfile

    import numpy as np
    from dlstudio.data import load_dataset
    from dlstudio.graph import Graph
    from dlstudio.training.engine import train

    g = Graph()
    x = g.add_node("Input", {"shape": [2]}, name="x")
    h = g.add_node("Dense", {"units": 8, "activation": "tanh"}, name="h")
    o = g.add_node("Dense", {"units": 1, "activation": "sigmoid"}, name="out")
    g.connect(x.id, h.id)
    g.connect(h.id, o.id)
    data = load_dataset("xor", {"samples": 200}, seed=1)
    n = len(data.x_train) // 2 * 2
    data.x_train, data.y_train = data.x_train[:n], data.y_train[:n]
    full = {"epochs": 3, "batch_size": n, "learning_rate": 0.05, "validation_split": 0.0, "seed": 3}
    mirrored = train(g, data, {**full, "device": "mirrored"})
    single = train(g, data, {**full, "device": "cpu"})
    with tempfile.TemporaryDirectory() as tmp:
        straight = train(g, data, {**full, "epochs": 5})
        first = train(g, data, full, run_base=tmp)
        more = train(g, data, {**full, "epochs": 2}, run_base=tmp, start_from=first.run.path)
        state = more.run.info["optimizer_state"]
    print(json.dumps({"mirrored": mirrored.history["loss"], "single": single.history["loss"], "state": state,
                      "continued": max(float(np.abs(a - b).max()) for a, b in zip(more.model.get_weights(),
                                                                                 straight.model.get_weights()))}))
""")


@pytest.mark.slow
def test_mirrored_and_continue_on_jax():
    pytest.importorskip("jax")
    env = _env(KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    proc = subprocess.run([sys.executable, "-c", JAX_SCRIPT], env=env, capture_output=True, text=True, timeout=300,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["mirrored"] == pytest.approx(out["single"], rel=1e-4)  # DataParallel over 2 CPU devices
    assert out["state"] == "restored" and out["continued"] < 1e-5  # Adam's moments survive Continue on JAX


def test_epoch_rules_of_the_custom_loop_step_plateau_and_early_stopping():
    import keras

    from dlstudio.training.distributed import EpochRules

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])

    def optimizer():
        opt = keras.optimizers.Adam(0.1)
        opt.build(model.trainable_variables)
        return opt

    opt = optimizer()
    rules = EpochRules({"lr_schedule": "step", "learning_rate": 0.1, "lr_decay": 0.5, "lr_step_epochs": 2},
                       model, opt, "loss")
    rates = []
    for epoch in range(4):
        rules.epoch_begin(epoch)
        rates.append(float(np.asarray(opt.learning_rate)))
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.05])

    opt = optimizer()
    rules = EpochRules({"lr_schedule": "plateau", "learning_rate": 0.1, "lr_decay": 0.5}, model, opt, "val_loss")
    for value in (1.0, 1.1, 1.2):
        rules.epoch_end({"val_loss": value})
    assert float(np.asarray(opt.learning_rate)) == pytest.approx(0.1)
    rules.epoch_end({"val_loss": 1.3})  # the third epoch without improvement
    assert float(np.asarray(opt.learning_rate)) == pytest.approx(0.05)

    rules = EpochRules({"early_stopping_patience": 2}, model, optimizer(), "loss")
    best = [w + 1.0 for w in model.get_weights()]
    model.set_weights(best)
    assert not rules.epoch_end({"loss": 0.5})
    model.set_weights([w * 0 for w in best])
    assert not rules.epoch_end({"loss": 0.6})
    assert rules.epoch_end({"loss": 0.7})  # stop, back at the best epoch's weights
    assert all(np.allclose(a, b) for a, b in zip(model.get_weights(), best))
