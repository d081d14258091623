"""The Evaluation and Predict docks: a run measured on the test set (evaluation_panel.py,
evaluation_views.py) and a run applied to chosen inputs (predict_panel.py)."""
