"""Experiments: a search of the project's space in the background (trials table, best-so-far
curve, importances, parallel coordinates, Pareto front), "Search over…" on a parameter, the
badge of searched nodes, and the difference between two runs drawn as a graph."""
