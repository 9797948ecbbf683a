"""Shared fixtures: MNIST from $MNIST_DIR (or ../shared/data/mnist beside the checkout) and the shipped weights."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from model import MLP, load_weights
from training.data import MnistSplits, load_mnist

REPO = Path(__file__).resolve().parent.parent
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


def mnist_dir() -> Path:
    """Tests never download: MNIST_DIR, else the read-only copy beside the checkout."""
    directory = Path(os.environ.get("MNIST_DIR") or SHARED_MNIST)
    if not (directory / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.fail(f"MNIST not found in {directory}: set MNIST_DIR to the folder with the four .gz files")
    return directory


@pytest.fixture(scope="session")
def mnist() -> MnistSplits:
    return load_mnist(mnist_dir())


@pytest.fixture(scope="session")
def shipped() -> tuple[MLP, dict]:
    return load_weights(REPO / "weights")
