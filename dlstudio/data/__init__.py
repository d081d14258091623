"""Datasets: built-in offline sets and generators."""

from dlstudio.data.datasets import DATASETS, Dataset, DatasetError, load_dataset

__all__ = ["DATASETS", "Dataset", "DatasetError", "load_dataset"]
