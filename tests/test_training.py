"""Training: reproducible, resumable after an interruption, and runnable from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from training.augment import AugmentConfig, augment_batch
from training.data import MnistSplits
from training.train import CHECKPOINT_FILE, TrainConfig, train

from .conftest import REPO, mnist_dir

SMALL = TrainConfig(hidden_sizes=(32,), epochs=3, batch_size=64, dropout=0.1, ema_decay=0.9,
                    augment=AugmentConfig(), seed=7)


@pytest.fixture(scope="module")
def small_data(mnist) -> MnistSplits:
    return MnistSplits(mnist.train_images[:2000], mnist.train_labels[:2000], mnist.dev_images[:500],
                       mnist.dev_labels[:500], mnist.test_images[:500], mnist.test_labels[:500])


class Interrupt(Exception):
    pass


def test_same_seed_same_weights(small_data):
    first, _ = train(SMALL, small_data)
    second, _ = train(SMALL, small_data)
    np.testing.assert_array_equal(first.flat, second.flat)


def test_resume_after_interrupt_equals_uninterrupted_run(small_data, tmp_path):
    uninterrupted, _ = train(SMALL, small_data)

    def stop_after_first_epoch(record):
        if record["epoch"] == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(SMALL, small_data, run_dir=tmp_path, on_epoch_end=stop_after_first_epoch)
    assert (tmp_path / CHECKPOINT_FILE).is_file()
    resumed, state = train(SMALL, small_data, run_dir=tmp_path)
    assert [h["epoch"] for h in state.history] == [1, 2, 3]
    np.testing.assert_array_equal(resumed.flat, uninterrupted.flat)


def test_checkpoint_of_another_config_is_not_mixed_in(small_data, tmp_path):
    train(TrainConfig(hidden_sizes=(8,), epochs=1, seed=1), small_data, run_dir=tmp_path)
    with pytest.raises(ValueError, match="different training config"):
        train(TrainConfig(hidden_sizes=(8,), epochs=1, seed=2), small_data, run_dir=tmp_path)
    model, _ = train(TrainConfig(hidden_sizes=(8,), epochs=1, seed=2), small_data, run_dir=tmp_path, restart=True)
    assert model.config.layer_sizes == (784, 8, 10)


def test_training_learns(small_data):
    model, state = train(TrainConfig(hidden_sizes=(64,), epochs=4, batch_size=32, seed=0), small_data)
    assert state.history[-1]["train_loss"] < state.history[0]["train_loss"]
    accuracy = (model.logits(small_data.test_images).argmax(1) == small_data.test_labels).mean()
    assert accuracy > 0.85


@pytest.mark.parametrize("values, message", [
    ({"epochs": 0}, "epochs must be >= 1"), ({"batch_size": 0}, "batch_size"),
    ({"learning_rate": -1.0}, "learning_rate"), ({"dropout": 1.0}, "dropout"), ({"hidden_sizes": (0,)}, "layer_sizes"),
])
def test_bad_config_values_are_named(values, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**values)


def test_augmentation_keeps_shape_range_and_is_seeded(mnist):
    images = mnist.train_images[:64]
    first = augment_batch(images, AugmentConfig(), np.random.default_rng(0))
    again = augment_batch(images, AugmentConfig(), np.random.default_rng(0))
    assert first.shape == images.shape and first.dtype == np.float32
    assert 0 <= first.min() and first.max() <= 1
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - images).mean() > 0.01  # it does distort...
    still = AugmentConfig(rotation_degrees=0, scale_range=0, shear=0, shift_pixels=0, elastic_alpha=0,
                          thickness_probability=0)
    np.testing.assert_allclose(augment_batch(images, still, np.random.default_rng(0)), images, atol=1e-6)  # ...or not


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {"MNIST_DIR": str(mnist_dir()), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "training", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def test_cli_help():
    for command in ([], ["train"], ["evaluate"]):
        result = run_cli(*command, "--help")
        assert result.returncode == 0 and "usage: python -m training" in result.stdout


def test_cli_train_then_evaluate_json(tmp_path):
    out, reports = tmp_path / "weights", tmp_path / "reports"
    result = run_cli("train", "--hidden-sizes", "32", "--epochs", "1", "--run-dir", str(tmp_path / "run"),
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    metadata = json.loads((out / "model.json").read_text())
    assert metadata["architecture"]["layer_sizes"] == [784, 32, 10]
    assert metadata["command"].startswith("python -m training train")
    assert set(metadata["data"]["md5_decompressed"]) == {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
    result = run_cli("evaluate", "--weights", str(out), "--reports-dir", str(reports), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["test_accuracy"] == pytest.approx(metadata["metrics"]["test_accuracy"])
    assert 0.9 < report["test_accuracy"] < 1
    for picture in ("confusion_matrix.png", "top_confusions.png", "training_curves.png", "report.json"):
        assert (reports / picture).stat().st_size > 1000


def test_cli_reports_missing_data_clearly(tmp_path):
    result = subprocess.run([sys.executable, "-m", "training", "train", "--data-dir", str(tmp_path),
                             "--run-dir", str(tmp_path / "run")], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "train-images-idx3-ubyte.gz: file not found" in result.stderr
    assert "Traceback" not in result.stderr
