"""Experiments: hyper-parameter and architecture search on Optuna, with every trial a run.

- :mod:`~dlstudio.search.space`: the project's ``search`` section as dimensions, one trial's
  graph and settings built from values (searched parameters, optional chains, repeated blocks);
- :mod:`~dlstudio.search.check`: the problems of a space, before a search starts;
- :mod:`~dlstudio.search.study`: storages (SQLite beside the project, any Optuna RDB URL),
  samplers, pruners, trials read back, importances, the Pareto front;
- :mod:`~dlstudio.search.runner`: ``run_search`` (trials trained through the training engine);
- :mod:`~dlstudio.search.diff`: what differs between two runs (layers, parameters, settings,
  metrics).

Importing this package loads neither Optuna nor Keras; its functions import them when called.
"""

from dlstudio.search.space import SampleError, SearchError, SearchSpace, search_space

__all__ = ["SampleError", "SearchError", "SearchSpace", "search_space"]
