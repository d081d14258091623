"""Datasets: the registry of built-in sets, file loaders and preparation."""

from dlstudio.data.dataset import Dataset, DatasetError
from dlstudio.data.registry import DatasetSpec, OptionSpec, get_dataset_spec, list_datasets, load_dataset

__all__ = ["Dataset", "DatasetError", "DatasetSpec", "OptionSpec", "get_dataset_spec", "list_datasets",
           "load_dataset"]
