"""The Data dock: choose the project's dataset, set its options, look at it (data_panel.py), and
the small widgets the panels share (data_widgets.py: section headers, muted labels, the sample grid)."""
