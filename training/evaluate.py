"""Measure a trained network: accuracy, confusions, calibration; write the report pictures."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from model import MLP, N_CLASSES, log_softmax, softmax

log = logging.getLogger(__name__)


def predict_logits(model: MLP, images: np.ndarray, batch_size: int = 2000) -> np.ndarray:
    """(n, 784) float32 -> (n, 10) logits, in batches to bound memory."""
    return np.concatenate([model.logits(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])


def mean_log_loss(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean cross-entropy of softmax(logits / temperature) against integer labels."""
    return float(-log_softmax(logits / temperature)[np.arange(len(labels)), labels].mean())


def loss_and_accuracy(model: MLP, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (a fraction) on a labelled set."""
    logits = predict_logits(model, images)
    return mean_log_loss(logits, labels), float((logits.argmax(axis=1) == labels).mean())


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """(10, 10) int counts: row = true class, column = predicted class."""
    matrix = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return matrix


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """ECE: gap between confidence and accuracy, averaged over equal-width confidence bins."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature T minimising the log-loss of softmax(logits / T); fitted on dev data only."""
    def nll(temperature: float) -> float:
        return mean_log_loss(logits, labels, temperature)

    # The log-loss is unimodal in log T: golden-section search on log T in [log 0.05, log 20].
    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(np.exp(a)), nll(np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(np.exp(b))
    return float(np.exp((lo + hi) / 2))


def evaluate(model: MLP, images: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> dict[str, Any]:
    """Accuracy, per-class accuracy, confusion matrix, top confusions and calibration on one set.

    Everything is JSON-ready except "predictions", the (n,) predicted classes.
    """
    logits = predict_logits(model, images)
    predictions = logits.argmax(axis=1)
    matrix = confusion_matrix(labels, predictions)
    per_class = matrix.diagonal() / matrix.sum(axis=1).clip(min=1)
    off_diagonal = [(int(matrix[t, p]), t, p) for t in range(N_CLASSES) for p in range(N_CLASSES) if t != p]
    top = sorted(off_diagonal, reverse=True)[:6]
    return {
        "predictions": predictions,
        "n": int(len(labels)),
        "accuracy": float((predictions == labels).mean()),
        "loss": mean_log_loss(logits, labels),
        "errors": int((predictions != labels).sum()),
        "per_class_accuracy": [float(a) for a in per_class],
        "confusion_matrix": matrix.tolist(),
        "top_confusions": [{"true": t, "predicted": p, "count": c} for c, t, p in top if c > 0],
        "ece_uncalibrated": expected_calibration_error(softmax(logits), labels),
        "ece_calibrated": expected_calibration_error(softmax(logits, temperature), labels),
        "temperature": temperature,
    }


def write_report(
    model: MLP,
    metadata: dict[str, Any],
    test_images: np.ndarray,
    test_labels: np.ndarray,
    reports_dir: str | Path,
) -> dict[str, Any]:
    """Evaluate on the test set and write report.json plus the PNG pictures; returns the report."""
    from training import plots  # matplotlib is a training dependency, not the app's

    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    temperature = float(metadata.get("calibration", {}).get("temperature", 1.0))
    result = evaluate(model, test_images, test_labels, temperature)
    report = {
        "test_accuracy": result["accuracy"],
        "test_loss": result["loss"],
        "test_errors": result["errors"],
        "n_test": result["n"],
        "per_class_accuracy": result["per_class_accuracy"],
        "top_confusions": result["top_confusions"],
        "confusion_matrix": result["confusion_matrix"],
        "ece_uncalibrated": result["ece_uncalibrated"],
        "ece_calibrated": result["ece_calibrated"],
        "temperature": temperature,
        "architecture": metadata.get("architecture"),
        "weights_sha256": metadata.get("weights_sha256"),
        "pictures": {},
    }
    report["pictures"]["confusion_matrix"] = plots.confusion_matrix_png(
        np.array(result["confusion_matrix"]), reports_dir / "confusion_matrix.png"
    )
    report["pictures"]["top_confusions"] = plots.confusions_grid_png(
        test_images, test_labels, result["predictions"], result["top_confusions"], reports_dir / "top_confusions.png"
    )
    augment = (metadata.get("training") or {}).get("augment")
    if augment:
        from training.augment import AugmentConfig, augment_batch

        originals = test_images[:10]
        rng = np.random.default_rng(0)
        rows = [originals] + [augment_batch(originals, AugmentConfig(**augment), rng) for _ in range(4)]
        report["pictures"]["augmentation_samples"] = plots.image_grid_png(
            rows, ["test digits"] + ["as augmented in training"] * 4, reports_dir / "augmentation_samples.png")
    history = metadata.get("history") or []
    if history:
        report["pictures"]["training_curves"] = plots.training_curves_png(history, reports_dir / "training_curves.png")
    (reports_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    log.info("wrote %s", reports_dir / "report.json")
    return report


def calibrate(model: MLP, dev_images: np.ndarray, dev_labels: np.ndarray, target_accuracy: float = 0.995) -> dict:
    """Temperature and "not sure" threshold, both chosen on the dev split.

    The threshold is the lowest calibrated top probability (at least 0.5) above
    which dev predictions are right at least `target_accuracy` of the time;
    the app says "not sure" below it.
    """
    logits = predict_logits(model, dev_images)
    temperature = fit_temperature(logits, dev_labels)
    probabilities = softmax(logits, temperature)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == dev_labels
    threshold = 0.5
    for candidate in np.arange(0.5, 0.99, 0.01):
        sure = confidence >= candidate
        if sure.any() and correct[sure].mean() >= target_accuracy:
            threshold = float(candidate)
            break
    return {
        "temperature": temperature,
        "not_sure_threshold": round(threshold, 2),
        "dev_ece_uncalibrated": expected_calibration_error(softmax(logits), dev_labels),
        "dev_ece_calibrated": expected_calibration_error(probabilities, dev_labels),
        "fitted_on": "dev split",
    }
