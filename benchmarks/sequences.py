"""Full-budget figures of the sequence examples (resources/examples): what their
notes claim after training, measured.

    python benchmarks/sequences.py [--only NAME ...] [--epochs N]

For each example it trains the project as saved (its epochs, batch size,
seed) in a temporary folder and prints the test metrics and the time, then
what the model does:

- char_lstm_hello: the text written from 'hel' at temperature 0;
- char_lstm_corpus: test accuracy of the next character, and 200 characters
  at temperatures 0.5 and 1.0;
- bilstm_classifier: test accuracy, and that of the same network with the
  Bidirectional LSTM replaced by GlobalAveragePooling1D (a bag of words);
- seq2seq_dates: teacher-forced per-character test accuracy, and greedy
  decoding's per-character and exact-match accuracy over the whole test set;
- forecast_sine: one-step and free-running test MAE and the naive baseline.

The last line is one JSON object with every figure. ``--epochs`` shortens the
budget (a quick check; the figures then do not stand for the claims).

Measured on this machine (2 CPU cores shared with other jobs, TensorFlow 2.21,
seed 0; the times are wall-clock under that load)::

    example            epochs  time    result
    char_lstm_hello        60    14 s  test accuracy 1.0; 'hel' at T=0 -> 'hellohellohello'
    char_lstm_corpus       20   559 s  test accuracy 0.5065 (a space every time: 0.171); T=0.5:
                                       "Beaution to a sinent seq in ``dlaceje) is and to a Pow the
                                       will be called wrapped dunctions on ailommines is named ..."
    bilstm_classifier       8   112 s  test accuracy 1.0; bag of words (GlobalAveragePooling1D
                                       instead of the Bidirectional LSTM): 0.65
    seq2seq_dates          12   204 s  per-character test accuracy 1.0 (teacher forcing);
                                       greedy decoding: characters 1.0, exact dates 1.0 (1,000)
    forecast_sine          30    44 s  test MAE one step 0.0629, free-running 0.2521, naive 0.2003
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXAMPLES = ("char_lstm_hello", "char_lstm_corpus", "bilstm_classifier", "seq2seq_dates", "forecast_sine")


def measure(name: str, epochs: int | None = None) -> dict:
    from dlstudio.data import load_dataset
    from dlstudio.inference.forecast import forecast
    from dlstudio.inference.text_generation import character_accuracy, generate, text_model_info, translate
    from dlstudio.project import load_project
    from dlstudio.training.engine import train

    project = load_project(ROOT / "resources" / "examples" / f"{name}.dlsproj")
    settings = project.training.model_copy()
    if epochs:
        settings.epochs = epochs
    dataset = load_dataset(project.dataset.name, project.dataset.options, seed=settings.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = train(project.graph, dataset, settings, run_base=tmp)
    figures: dict = {"example": name, "epochs": len(result.history.get("loss", [])),
                     "seconds": round(time.perf_counter() - t0, 1),
                     **{k: round(v, 4) for k, v in result.metrics.items() if k.startswith("test_")}}
    model = result.model
    if name == "char_lstm_hello":
        info = text_model_info(dataset)
        figures["from_hel_t0"] = "hel" + generate(model, info, "hel", 12, 0.0)
    elif name == "char_lstm_corpus":
        info = text_model_info(dataset)
        prompt = info.default_prompt[:40]
        for t in (0.5, 1.0):
            figures[f"sample_t{t}"] = prompt + generate(model, info, prompt, 200, t, seed=1)
    elif name == "bilstm_classifier":
        from dlstudio.graph import Graph

        data = project.graph.to_dict()
        for node in data["nodes"]:
            if node["type"] == "Bidirectional":
                node.update(type="GlobalAveragePooling1D", params={})
        bag_result = train(Graph.from_dict(data), dataset, settings)
        figures["bag_of_words_test_accuracy"] = round(bag_result.metrics["test_accuracy"], 4)
    elif name == "seq2seq_dates":
        info = text_model_info(dataset)
        outputs = translate(model, info, dataset.meta["sources"])
        chars, exact = character_accuracy(outputs, dataset.meta["targets"])
        figures.update(greedy_character_accuracy=round(chars, 4), greedy_exact_match=round(exact, 4),
                       examples=[f"{s} -> {o}" for s, o in zip(dataset.meta["sources"][:4], outputs[:4])])
    elif name == "forecast_sine":
        f = forecast(model, dataset)
        figures.update(one_step_mae=round(f.one_step_mae, 4), free_running_mae=round(f.free_mae, 4),
                       naive_mae=round(f.naive_mae, 4))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=EXAMPLES, help="measure these examples only")
    parser.add_argument("--epochs", type=int, help="shorter budget (a quick check, not the claim)")
    args = parser.parse_args(argv)
    from dlstudio.backend import load_keras

    load_keras()
    everything = []
    for name in args.only or EXAMPLES:
        figures = measure(name, args.epochs)
        everything.append(figures)
        print(f"\n== {name}: {figures['epochs']} epochs in {figures['seconds']} s")
        for key, value in figures.items():
            if key not in ("example", "epochs", "seconds"):
                print(f"  {key}: {value}")
        sys.stdout.flush()
    print(json.dumps(everything))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
