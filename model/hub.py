"""Choose the weights to serve: a pinned Hub revision (MODEL_REPO, MODEL_REVISION) or the shipped weights/.

Hub weights are downloaded with hf_hub_download (so HF_HUB_OFFLINE=1 and the
Hub cache work as usual) and verified exactly like local ones: the metadata's
SHA-256 of the tensors, the architecture, shapes, dtypes and finiteness. If
anything fails the shipped weights are served, and the notice says why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.mlp import MLP
from model.weights_io import METADATA_FILE, WeightsError, load_weights, read_metadata

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedWeights:
    """The model to serve, its metadata, where it came from, and any notice for the page."""

    model: MLP
    metadata: dict[str, Any] = field(repr=False)
    source: str  # e.g. "shipped weights (weights/)" or "Hub OWNER/NAME@REVISION"
    notice: str = ""  # non-empty when the requested weights could not be served


def download_from_hub(repo_id: str, revision: str, environ: Mapping[str, str]) -> Path:
    """Fetch model.json and the tensors file it names, at one revision; returns the local folder.

    The Hub settings (endpoint, cache, offline mode, token) are read from `environ`
    with huggingface_hub's variable names, so a caller can pass its own.
    """
    from huggingface_hub import hf_hub_download

    cache = environ.get("HF_HUB_CACHE") or (str(Path(environ["HF_HOME"]) / "hub") if environ.get("HF_HOME") else None)
    options = {
        "revision": revision,
        "endpoint": environ.get("HF_ENDPOINT") or None,
        "cache_dir": cache,
        "local_files_only": environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"),
        "token": environ.get("HF_TOKEN") or None,
    }
    metadata_path = Path(hf_hub_download(repo_id, METADATA_FILE, **options))
    name = read_metadata(metadata_path.parent).get("weights_file", "model.safetensors")
    weights_path = Path(hf_hub_download(repo_id, str(name), **options))
    if weights_path.parent != metadata_path.parent:
        raise WeightsError(f"{repo_id}@{revision}: metadata and tensors resolved to different snapshots")
    return metadata_path.parent


def load_served_weights(shipped_dir: Path, environ: Mapping[str, str] = os.environ) -> LoadedWeights:
    """MODEL_REPO at MODEL_REVISION if set and valid, else the shipped weights (with a notice saying why)."""
    repo_id = environ.get("MODEL_REPO", "").strip()
    revision = environ.get("MODEL_REVISION", "").strip() or "main"
    notice = ""
    if repo_id:
        where = f"{repo_id}@{revision}"
        try:
            directory = download_from_hub(repo_id, revision, environ)
            model, metadata = load_weights(directory)
            if revision == "main":
                log.warning("MODEL_REVISION is not set: serving the moving 'main' of %s", repo_id)
            log.info("serving Hub weights %s", where)
            return LoadedWeights(model, metadata, f"Hub weights {where}")
        except WeightsError as err:
            notice = f"The Hub weights {where} failed verification ({err}); serving the shipped weights instead."
        except Exception as err:  # network errors, missing repo or file, offline with an empty cache
            notice = (f"The Hub weights {where} could not be fetched ({type(err).__name__}); "
                      "serving the shipped weights instead.")
        log.warning("%s", notice)
    model, metadata = load_weights(shipped_dir)
    return LoadedWeights(model, metadata, "shipped weights (weights/)", notice)
