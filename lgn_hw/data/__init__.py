"""Data stage: datasets and encoders from raw features to input bits."""

from .dataset import Dataset, Split, split_indices
from .datasets import DATASETS, MONK_VALUES, load_dataset, monk_label
from .encoding import Encoder, Feature, bits, fit_onehot, fit_thermometer, int_range, onehot
from .files import DataFileError, read_cifar_batch, read_idx, read_npy, read_npz
from .tabular import DATA_SUFFIXES, DataError, Inputs, load_data_file, read_inputs, stratified_split

__all__ = [
    "Encoder", "Feature", "fit_thermometer", "fit_onehot", "onehot", "bits", "int_range",
    "Dataset", "Split", "split_indices", "load_dataset", "DATASETS", "MONK_VALUES", "monk_label",
    "DataFileError", "read_idx", "read_npy", "read_npz", "read_cifar_batch",
    "DataError", "Inputs", "load_data_file", "read_inputs", "stratified_split", "DATA_SUFFIXES",
]
