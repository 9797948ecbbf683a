"""Publish weights to the Hugging Face Hub, and point a Space at them.

publish: stage a folder (weights, metadata, report pictures, a model card),
then create the model repo if needed, upload the folder as one commit and tag
it. deploy_space: upload the app's files to a Gradio Space and set the
variables that make it serve a pinned model revision.

The token comes from HF_TOKEN or `hf auth login`; it is never written to a
file, a log line or an error message.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model import load_weights
from model.weights_io import METADATA_FILE, WEIGHTS_FILE

log = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parent.parent
REPORT_FILES = ("confusion_matrix.png", "top_confusions.png", "training_curves.png", "augmentation_samples.png",
                "robustness.png", "report.json", "robustness.json")
# What a Space needs to run the app: code and the shipped weights (its fallback).
SPACE_FILES = ("app.py", "presentation.py", "preprocessing.py", "requirements.txt", "README.md",
               "model/__init__.py", "model/mlp.py", "model/weights_io.py", "model/hub.py",
               f"weights/{WEIGHTS_FILE}", f"weights/{METADATA_FILE}",
               # the pictures the README (the Space's card) shows
               "reports/app.png", "reports/training_curves.png", "reports/confusion_matrix.png",
               "reports/top_confusions.png", "reports/augmentation_samples.png", "reports/robustness.png")


class PublishError(RuntimeError):
    """Publishing failed; the message says what to do. Nothing half-published: one commit or none."""


@dataclass(frozen=True)
class PublishConfig:
    """Where and how to publish."""

    repo_id: str  # OWNER/NAME of the model repo
    revision: str = "main"  # branch to commit to
    tag: str | None = None  # version tag; default: weights-<first 12 hex of the weights' SHA-256>
    private: bool = False
    dry_run: bool = False  # stage locally and list what would be uploaded

    def __post_init__(self) -> None:
        check_repo_id(self.repo_id, "repo_id")


def check_repo_id(repo_id: str, name: str) -> None:
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts) or any(c.isspace() for c in repo_id):
        raise ValueError(f"{name} must look like OWNER/NAME, got {repo_id!r}")


def token_or_none() -> str | None:
    """HF_TOKEN, else the token saved by `hf auth login`."""
    from huggingface_hub import get_token

    return os.environ.get("HF_TOKEN") or get_token()


def model_card(metadata: dict[str, Any], repo_id: str) -> str:
    """README.md for the model repo: Hub YAML metadata, then what the weights are and how to use them."""
    metrics = metadata.get("metrics", {})
    training = metadata.get("training", {})
    sizes = metadata["architecture"]["layer_sizes"]
    accuracy = metrics.get("test_accuracy")
    checksums = metadata.get("data", {}).get("md5_decompressed", {})
    calibration = metadata.get("calibration", {})
    yaml_metrics = ""
    if accuracy is not None:
        yaml_metrics = f"""model-index:
- name: {repo_id.split('/')[1]}
  results:
  - task:
      type: image-classification
      name: Image Classification
    dataset:
      type: ylecun/mnist
      name: MNIST
      split: test
    metrics:
    - type: accuracy
      value: {accuracy}
      name: Test accuracy
"""
    return f"""---
license: mit
library_name: numpy
pipeline_tag: image-classification
tags:
- mnist
- digits
- mlp
- numpy
datasets:
- ylecun/mnist
metrics:
- accuracy
{yaml_metrics}---

# Handwritten digit MLP ({'-'.join(map(str, sizes))}), pure NumPy

A multi-layer perceptron (ReLU hidden layers, softmax output) that reads a
28x28 grey image of one handwritten digit and gives the probability of each
digit 0-9. Trained from scratch on MNIST with NumPy only, by the project's
`python -m training train` command; served by its Gradio app.

| metric | value |
|---|---|
| MNIST test accuracy (10,000 digits) | {_percent(accuracy)} |
| dev accuracy (selection split) | {_percent(metrics.get('dev_accuracy'))} |
| test expected calibration error (after temperature scaling) | {_percent(metrics.get('test_ece_calibrated'))} |
| calibration temperature (fitted on dev) | {calibration.get('temperature', 1.0):.3f} |
| "not sure" threshold (chosen on dev) | {calibration.get('not_sure_threshold', 0.5)} |

## Intended use and limitations
For demos and teaching: classifying one centred digit drawn on a canvas or
photographed on plain paper, after the project's preprocessing (crop, scale
the longer side to 20 px, centre of mass at the centre, white ink on black).
It has never seen letters, several digits, or digits from other scripts: it
will still answer one of 0-9, so check the "not sure" threshold. MNIST digits
were written by US census staff and students; other writing styles may be
read less accurately.

## Training
- command: `{metadata.get('command', 'unknown')}`
- config: `{json.dumps({k: v for k, v in training.items() if k != 'history'})}`
- data: MNIST, {training.get('dev_split', 'dev split')} held out for selection; the 10k test set only for the
  final figures. Decompressed-file MD5 sums:
{chr(10).join(f'  - `{name}`: `{md5}`' for name, md5 in checksums.items())}

## Load with NumPy
```python
import json, numpy as np
from safetensors.numpy import load_file

tensors = load_file("model.safetensors")
meta = json.load(open("model.json"))
n = len(meta["architecture"]["layer_sizes"]) - 1
def predict(x):  # x: (batch, 784) float32 in [0, 1], white ink on black
    for i in range(n):
        x = x @ tensors[f"layers.{{i}}.weight"] + tensors[f"layers.{{i}}.bias"]
        x = np.maximum(x, 0) if i < n - 1 else x
    z = x / meta["calibration"]["temperature"]
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)
```
`model.json` records the SHA-256 of `model.safetensors` (`weights_sha256`): check it before use.
"""


def _percent(value: Any) -> str:
    return f"{100 * value:.2f}%" if isinstance(value, (int, float)) else "n/a"


def stage(weights_dir: str | Path, reports_dir: str | Path, out_dir: str | Path, repo_id: str) -> list[Path]:
    """Copy the weights (verified by loading them), their metadata, the report files and a model card into out_dir."""
    weights_dir, reports_dir, out_dir = Path(weights_dir), Path(reports_dir), Path(out_dir)
    _, metadata = load_weights(weights_dir)  # refuses damaged or foreign weights before anything is staged
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "reports").mkdir(parents=True)
    for name in (WEIGHTS_FILE, METADATA_FILE):
        shutil.copy2(weights_dir / name, out_dir / name)
    for name in REPORT_FILES:
        if (reports_dir / name).is_file():
            shutil.copy2(reports_dir / name, out_dir / "reports" / name)
    (out_dir / "README.md").write_text(model_card(metadata, repo_id), encoding="utf-8")
    return sorted(p for p in out_dir.rglob("*") if p.is_file())


def _hub_error(err: Exception, what: str) -> PublishError:
    """A message a user can act on, from a huggingface_hub or network error (tokens never included)."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    status = getattr(getattr(err, "response", None), "status_code", None)
    if isinstance(err, RepositoryNotFoundError) or status == 404:
        hint = "the repository does not exist or the token cannot see it"
    elif status in (401, 403):
        hint = "the token was rejected or lacks write access (check HF_TOKEN or run `hf auth login`)"
    elif isinstance(err, HfHubHTTPError):
        hint = f"the Hub answered HTTP {status}"
    else:
        hint = f"the Hub could not be reached ({type(err).__name__})"
    return PublishError(f"{what} failed: {hint}")


def publish(config: PublishConfig, weights_dir: str | Path, reports_dir: str | Path, staging_dir: str | Path,
            endpoint: str | None = None) -> dict[str, Any]:
    """Stage, then (unless dry_run) create the repo, upload everything in one commit and tag it."""
    token = None if config.dry_run else token_or_none()
    if not config.dry_run and not token:
        raise PublishError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (nothing was uploaded)")
    files = stage(weights_dir, reports_dir, staging_dir, config.repo_id)
    metadata = json.loads((Path(staging_dir) / METADATA_FILE).read_text())
    tag = config.tag or f"weights-{metadata['weights_sha256'][:12]}"
    result: dict[str, Any] = {"repo_id": config.repo_id, "tag": tag, "staged": str(staging_dir),
                              "files": [str(p.relative_to(staging_dir)) for p in files]}
    if config.dry_run:
        return result

    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token)
    accuracy = metadata.get("metrics", {}).get("test_accuracy")
    message = f"Weights {tag}: MLP {'-'.join(map(str, metadata['architecture']['layer_sizes']))}" + (
        f", {100 * accuracy:.2f}% MNIST test accuracy" if accuracy is not None else "")
    try:
        api.create_repo(config.repo_id, repo_type="model", private=config.private, exist_ok=True)
        commit = api.upload_folder(repo_id=config.repo_id, folder_path=staging_dir, repo_type="model",
                                   revision=config.revision, commit_message=message,
                                   commit_description=f"Produced by: {metadata.get('command', 'unknown')}")
    except Exception as err:
        raise _hub_error(err, f"uploading to {config.repo_id}") from None
    try:
        api.create_tag(config.repo_id, tag=tag, revision=commit.oid, repo_type="model", tag_message=message)
    except Exception as err:
        raise PublishError(f"the upload is commit {commit.oid} ({commit.commit_url}), but tagging it "
                           f"{tag!r} failed: {_hub_error(err, 'tagging')}; rerun publish with another --tag "
                           f"or use the commit id as MODEL_REVISION") from None
    result.update(commit=commit.oid, commit_url=commit.commit_url)
    return result


def deploy_space(space_id: str, model_repo: str | None, model_revision: str | None,
                 endpoint: str | None = None, private: bool = False) -> dict[str, Any]:
    """Create or update a Gradio Space with the app's files and its MODEL_REPO / MODEL_REVISION variables."""
    check_repo_id(space_id, "space_id")
    if model_repo:
        check_repo_id(model_repo, "model_repo")
        if not model_revision:
            raise PublishError("--model-revision is required with --model-repo: a Space serves a pinned revision")
    token = token_or_none()
    if not token:
        raise PublishError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (nothing was uploaded)")
    missing = [name for name in SPACE_FILES if not (REPO_ROOT / name).is_file()]
    if missing:
        raise PublishError(f"app files missing from the checkout: {missing}")

    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=endpoint, token=token)
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(REPO_ROOT / name)) for name in SPACE_FILES]
    try:
        api.create_repo(space_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        if model_repo:
            api.add_space_variable(space_id, "MODEL_REPO", model_repo)
            api.add_space_variable(space_id, "MODEL_REVISION", model_revision)
        commit = api.create_commit(space_id, operations, repo_type="space",
                                   commit_message=f"Deploy app serving {model_repo or 'shipped weights'}"
                                   + (f"@{model_revision}" if model_revision else ""))
    except Exception as err:
        raise _hub_error(err, f"deploying to Space {space_id}") from None
    return {"space_id": space_id, "commit": commit.oid, "commit_url": commit.commit_url,
            "variables": {"MODEL_REPO": model_repo, "MODEL_REVISION": model_revision} if model_repo else {}}
