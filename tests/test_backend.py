"""The backend module: device names."""

from __future__ import annotations


def test_model_device_names_where_the_weights_live():
    from dlstudio.backend import list_devices, load_keras, model_device

    keras = load_keras()
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2)(inp))
    assert model_device(model) in list_devices()
    with __import__("dlstudio.backend", fromlist=["device_scope"]).device_scope("cpu"):
        on_cpu = keras.Model(inp, keras.layers.Dense(2)(inp))
    assert model_device(on_cpu) == "cpu"


def test_tensorflow_has_threads_for_concurrent_callers():
    """The app calls TensorFlow from several threads (training, pool jobs, previews): its
    inter-op pool is never smaller than MIN_INTER_OP_THREADS, or blocking functions deadlock."""
    import subprocess
    import sys

    from dlstudio.backend import MIN_INTER_OP_THREADS

    code = ("from dlstudio.backend import load_keras\nk = load_keras()\nimport tensorflow as tf\n"
            "print(k.backend.backend(), tf.config.threading.get_inter_op_parallelism_threads())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"})
    backend, threads = done.stdout.split()[-2:]
    assert backend == "tensorflow" and int(threads) >= MIN_INTER_OP_THREADS, done.stderr[-1000:]
