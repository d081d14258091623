"""The panels beside the canvas that serve editing the graph: the Layers palette (palette.py),
the Inspector of the selected layer (inspector.py, its fields from param_form.py), the Summary
of shapes, parameters and multiply-adds (summary.py) and the Problems list with its fixes
(problems.py)."""
