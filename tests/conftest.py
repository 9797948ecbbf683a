"""Shared fixtures: MNIST from $MNIST_DIR (or ../shared/data/mnist beside the checkout) and the shipped weights."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from model import MLP, load_weights
from training import data
from training.data import MnistSplits, load_mnist

REPO = Path(__file__).resolve().parent.parent
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


def mnist_dir() -> Path:
    """MNIST_DIR, else the read-only copy beside the checkout, else the download cache (filled on first use)."""
    if os.environ.get("MNIST_DIR"):
        directory = Path(os.environ["MNIST_DIR"])
        if not (directory / "t10k-labels-idx1-ubyte.gz").is_file():
            pytest.fail(f"MNIST_DIR={directory} does not hold the four MNIST .gz files")
        return directory
    if (SHARED_MNIST / "t10k-labels-idx1-ubyte.gz").is_file():
        return SHARED_MNIST
    load_mnist(progress=True)  # a fresh machine: download into the git-ignored cache, verified
    return data.DEFAULT_CACHE


@pytest.fixture(scope="session")
def mnist() -> MnistSplits:
    return load_mnist(mnist_dir())


@pytest.fixture(scope="session")
def shipped() -> tuple[MLP, dict]:
    return load_weights(REPO / "weights")


@pytest.fixture(scope="session")
def served(shipped):
    from presentation import served_from_metadata

    return served_from_metadata(*shipped, source="shipped weights (weights/)")
