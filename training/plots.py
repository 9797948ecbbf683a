"""Report pictures (PNG) drawn with matplotlib; each function returns the file name it wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig: plt.Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def confusion_matrix_png(matrix: np.ndarray, path: Path) -> str:
    """Counts per (true, predicted) pair; the diagonal is dimmed so that errors stand out."""
    fig, ax = plt.subplots(figsize=(6, 5.2))
    errors = matrix.copy()
    np.fill_diagonal(errors, 0)
    image = ax.imshow(errors, cmap="Reds")
    for t in range(10):
        for p in range(10):
            colour = "grey" if t == p else ("white" if errors[t, p] > errors.max() / 2 else "black")
            ax.text(p, t, str(matrix[t, p]), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion matrix, test set ({matrix.trace()} / {matrix.sum()} correct)")
    fig.colorbar(image, ax=ax, label="errors")
    return _save(fig, path)


def confusions_grid_png(
    images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, confusions: list[dict[str, int]], path: Path,
    per_row: int = 8,
) -> str:
    """One row per frequent confusion, showing test images of that mistake."""
    rows = max(1, len(confusions))
    fig, axes = plt.subplots(rows, per_row, figsize=(per_row * 1.1, rows * 1.25), squeeze=False)
    for r, confusion in enumerate(confusions):
        index = np.flatnonzero((labels == confusion["true"]) & (predictions == confusion["predicted"]))
        for c in range(per_row):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(index):
                ax.imshow(images[index[c]].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        axes[r, 0].set_title(f"true {confusion['true']} -> {confusion['predicted']} ({confusion['count']}x)",
                             fontsize=8, loc="left")
    for ax in axes.ravel():
        ax.axis("off")
    return _save(fig, path)


def training_curves_png(history: list[dict[str, Any]], path: Path) -> str:
    """Train and dev loss and accuracy per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], label="train")
    ax_loss.plot(epochs, [h["dev_loss"] for h in history], label="dev")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * h["train_accuracy"] for h in history], label="train")
    ax_acc.plot(epochs, [100 * h["dev_accuracy"] for h in history], label="dev")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_ylim(96, 100)
    ax_acc.legend()
    fig.suptitle("Training curves (train accuracy is on augmented images when augmentation is on)")
    return _save(fig, path)


def image_grid_png(rows: list[np.ndarray], titles: list[str], path: Path) -> str:
    """Rows of (k, 784) images with a title each, e.g. originals and their augmentations."""
    n_cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(n_cols * 1.0, len(rows) * 1.15), squeeze=False)
    for r, (images, title) in enumerate(zip(rows, titles)):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(images):
                ax.imshow(images[c].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        axes[r, 0].set_title(title, fontsize=8, loc="left")
    return _save(fig, path)


def grouped_bars_png(table: dict[str, dict[str, float]], path: Path, title: str) -> str:
    """Accuracy per row (distortion) and column (model) as grouped horizontal bars."""
    rows = list(table)
    names = list(next(iter(table.values())))
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.2))
    height = 0.8 / len(names)
    for j, name in enumerate(names):
        values = [100 * table[r][name] for r in rows]
        bars = ax.barh(np.arange(len(rows)) + j * height, values, height, label=name)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    ax.set_yticks(np.arange(len(rows)) + height * (len(names) - 1) / 2, rows)
    ax.invert_yaxis()
    ax.set_xlim(min(50, min(100 * v for r in table.values() for v in r.values()) - 5), 101)
    ax.set_xlabel("accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(names), fontsize=8)
    return _save(fig, path)
