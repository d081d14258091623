"""Training: the engine shared by the GUI and the command line, and its events.

Import :mod:`dlstudio.training.engine` for ``train``; it loads Keras.
"""

from dlstudio.training.events import BatchEnd, EpochEnd, Failed, Finished, Started

__all__ = ["BatchEnd", "EpochEnd", "Failed", "Finished", "Started"]
