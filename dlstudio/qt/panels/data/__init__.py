"""The Data dock: choose the project's dataset, set its options, look at it (data_panel.py;
dataset_views.py draws the samples and the balance, augmentation_preview.py previews the graph's
augmentation layers), and the small widgets the panels share (data_widgets.py: section headers,
muted labels, the sample grid)."""
