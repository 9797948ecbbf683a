"""The robustness report: distortions that do what they say, and the augmented model ahead where it counts."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from training.robustness import DISTORTIONS, affine, stroke_change

from .conftest import REPO, mnist_dir


def test_distortions_keep_shape_and_range(mnist):
    images = mnist.test_images[:50]
    for name, distort in DISTORTIONS.items():
        out = distort(images, np.random.default_rng(0))
        assert out.shape == images.shape and out.dtype == np.float32, name
        assert 0 <= out.min() and out.max() <= 1, name


def test_affine_identity_and_stroke_changes(mnist):
    images = mnist.test_images[:20]
    np.testing.assert_allclose(affine(images, np.random.default_rng(0)), images, atol=1e-6)
    shifted = affine(images, np.random.default_rng(0), shift=3).reshape(-1, 28, 28)
    com = (shifted.sum(axis=2) * np.arange(28)).sum(axis=1) / shifted.sum(axis=(1, 2))
    original = (images.reshape(-1, 28, 28).sum(axis=2) * np.arange(28)).sum(axis=1) / images.sum(axis=1)
    assert np.abs(com - original).max() > 0.5  # it really moved
    assert (stroke_change(images, thicker=True).sum(1) > images.sum(1)).all()
    assert (stroke_change(images, thicker=False).sum(1) < images.sum(1)).all()


def test_robustness_command_compares_augmented_and_unaugmented(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "training", "robustness", "--limit", "500", "--json", "--reports-dir", str(tmp_path),
         "--data-dir", str(mnist_dir())], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    table = json.loads(result.stdout)["accuracy"]
    assert set(table) == set(DISTORTIONS)
    assert (tmp_path / "robustness.png").stat().st_size > 1000
    for distortion in ("shift 4 px", "rotate 30 deg", "scale 0.7", "thinner strokes", "thicker strokes"):
        row = table[distortion]
        assert row["augmented 784-1024-256-10"] > row["unaugmented 784-1024-256-10"], (distortion, row)
