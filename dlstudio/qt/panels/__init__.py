"""The dock panels, one folder per feature: editing (Layers, Inspector, Summary, Problems),
data, training (Training, Settings, Runs, live views), runs (what the run panels share),
insight, evaluation (Evaluation, Predict), adversarial, gan, sequences (Text, Forecast) and
autoencoder. The main window builds their docks (dlstudio/qt/window_docks.py)."""
