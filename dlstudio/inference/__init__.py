"""A built model applied to inputs, numpy in and numpy out (no Qt; Keras is imported lazily).

Below training and insight, which both use it: training's live views and
adversarial training, and the panels and commands that look at a trained run.

- ``input_gradients``: d loss / d input on every backend, and the logits behind
  a softmax / sigmoid output.
- ``perturbation``: the FGSM / PGD primitives that attacks and adversarial training share.
- ``text_generation``: sampling text from a language model, greedy seq2seq translation.
- ``forecast``: one-step and free-running forecasts of a time-series model.
"""
