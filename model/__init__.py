"""The digit classifier: a pure-NumPy MLP and its weight files."""

from model.mlp import DTYPE, MLP, N_CLASSES, N_INPUTS, MLPConfig, log_softmax, softmax
from model.weights_io import WeightsError, load_weights, read_metadata, save_weights

__all__ = [
    "DTYPE",
    "MLP",
    "MLPConfig",
    "N_CLASSES",
    "N_INPUTS",
    "WeightsError",
    "load_weights",
    "log_softmax",
    "read_metadata",
    "save_weights",
    "softmax",
]
