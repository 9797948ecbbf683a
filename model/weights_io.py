"""Save and load the network: tensors in safetensors (no code can hide in them), metadata in JSON.

A weights folder holds `model.safetensors` and `model.json`. The JSON says what
the tensors are (architecture, input normalisation), how they were made
(training config, seed, data checksums, command) and how good they are
(metrics); it also records the tensors file's SHA-256, so that a swapped or
damaged file is refused instead of served. An `.npz` tensors file is accepted
too, read with `allow_pickle=False`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from model.mlp import DTYPE, MLP, MLPConfig

FORMAT_NAME = "numpy-mlp-digits"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
METADATA_FILE = "model.json"
INPUT_SPEC = {
    "shape": [784],
    "dtype": "float32",
    "layout": "28x28 row-major, flattened",
    "range": [0.0, 1.0],
    "normalisation": "pixel / 255; ink is 1 and background 0 (white digit on black, as in MNIST)",
}


class WeightsError(ValueError):
    """A weights folder that is missing, damaged, or not ours; the message says which file and why."""


def tensor_names(config: MLPConfig) -> list[str]:
    """Names in parameter order: layers.0.weight, layers.0.bias, layers.1.weight, ..."""
    n_layers = len(config.layer_sizes) - 1
    return [f"layers.{i}.{kind}" for i in range(n_layers) for kind in ("weight", "bias")]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; weights and metadata are meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_weights(model: MLP, directory: str | Path, metadata: dict[str, Any]) -> Path:
    """Write model.safetensors and model.json into `directory`; returns the JSON's path.

    `metadata` holds what the caller knows (training config, metrics, ...);
    format, architecture, input spec and the tensors' checksum are added here.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {name: np.ascontiguousarray(p) for name, p in zip(tensor_names(model.config), model.params)}
    weights_path = directory / WEIGHTS_FILE
    tmp = directory / f".{WEIGHTS_FILE}.tmp"
    save_file(tensors, str(tmp), metadata={"format": FORMAT_NAME})
    os.replace(tmp, weights_path)
    full = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": {"layer_sizes": list(model.config.layer_sizes), "activation": "relu", "output": "softmax"},
        "input": INPUT_SPEC,
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": file_sha256(weights_path),
        **{k: v for k, v in metadata.items() if k not in {"format", "format_version", "architecture"}},
    }
    json_path = directory / METADATA_FILE
    atomic_write_bytes(json_path, (json.dumps(full, indent=2, sort_keys=False) + "\n").encode())
    return json_path


def read_metadata(directory: str | Path) -> dict[str, Any]:
    """The checked model.json of a weights folder."""
    path = Path(directory) / METADATA_FILE
    if not path.is_file():
        raise WeightsError(f"{path}: metadata file not found")
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WeightsError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise WeightsError(f"{path}: not a {FORMAT_NAME} metadata file (format field missing or different)")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise WeightsError(
            f"{path}: format_version {metadata.get('format_version')!r} is not supported (expected {FORMAT_VERSION})"
        )
    return metadata


def _read_tensors(path: Path) -> dict[str, np.ndarray]:
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
        return load_file(str(path))
    except (SafetensorError, ValueError, OSError, EOFError) as err:
        raise WeightsError(f"{path}: cannot read tensors ({err})") from None
    except Exception as err:  # zipfile.BadZipFile and other format errors from foreign files
        raise WeightsError(f"{path}: cannot read tensors ({type(err).__name__}: {err})") from None


def load_weights(directory: str | Path) -> tuple[MLP, dict[str, Any]]:
    """Load and verify a weights folder: checksum, architecture, shapes, dtype, finiteness."""
    directory = Path(directory)
    metadata = read_metadata(directory)
    try:
        config = MLPConfig(tuple(metadata["architecture"]["layer_sizes"]))
    except (KeyError, TypeError, ValueError) as err:
        raise WeightsError(f"{directory / METADATA_FILE}: bad architecture ({err})") from None

    name = metadata.get("weights_file", WEIGHTS_FILE)
    if not isinstance(name, str) or Path(name).name != name or not name.endswith((".safetensors", ".npz")):
        raise WeightsError(f"{directory / METADATA_FILE}: weights_file must be a plain .safetensors or .npz file name")
    path = directory / name
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    expected_sha = metadata.get("weights_sha256")
    actual_sha = file_sha256(path)
    if expected_sha != actual_sha:
        raise WeightsError(
            f"{path}: SHA-256 {actual_sha[:12]}... does not match the metadata's {str(expected_sha)[:12]}...; "
            "the file was changed or damaged"
        )

    tensors = _read_tensors(path)
    names = tensor_names(config)
    if sorted(tensors) != sorted(names):
        raise WeightsError(f"{path}: tensors {sorted(tensors)} do not match the architecture's {names}")
    arrays = []
    for name, shape in zip(names, config.parameter_shapes):
        array = tensors[name]
        if array.dtype != DTYPE:
            raise WeightsError(f"{path}: tensor {name} is {array.dtype}, expected float32")
        if tuple(array.shape) != shape:
            raise WeightsError(f"{path}: tensor {name} has shape {tuple(array.shape)}, the metadata says {shape}")
        if not np.isfinite(array).all():
            raise WeightsError(f"{path}: tensor {name} holds NaN or infinite values")
        arrays.append(array)
    return MLP.from_arrays(config, arrays), metadata
