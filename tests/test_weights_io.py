"""Weights files: a faithful round trip, and every kind of bad file refused with a clear message."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import save_file

from model import MLP, MLPConfig, WeightsError, load_weights, save_weights
from model.weights_io import file_sha256


@pytest.fixture
def saved(tmp_path):
    model = MLP.initialise(MLPConfig((784, 16, 10)), np.random.default_rng(3))
    save_weights(model, tmp_path, {"metrics": {"test_accuracy": 0.5}, "command": "test"})
    return model, tmp_path


def rewrite_metadata(directory, **changes):
    path = directory / "model.json"
    metadata = json.loads(path.read_text())
    metadata.update(changes)
    path.write_text(json.dumps(metadata))


def test_round_trip_is_exact(saved):
    model, directory = saved
    loaded, metadata = load_weights(directory)
    np.testing.assert_array_equal(loaded.flat, model.flat)
    assert metadata["architecture"]["layer_sizes"] == [784, 16, 10]
    assert metadata["metrics"]["test_accuracy"] == 0.5 and metadata["command"] == "test"
    x = np.random.default_rng(0).random((4, 784), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


def test_missing_folder_or_files(saved, tmp_path_factory):
    with pytest.raises(WeightsError, match="metadata file not found"):
        load_weights(tmp_path_factory.mktemp("empty"))
    _, directory = saved
    (directory / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match="weights file not found"):
        load_weights(directory)


def test_changed_tensor_file_is_refused_by_checksum(saved):
    _, directory = saved
    data = bytearray((directory / "model.safetensors").read_bytes())
    data[-5] ^= 0xFF
    (directory / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match the metadata"):
        load_weights(directory)


def test_metadata_that_lies_about_the_architecture(saved):
    _, directory = saved
    rewrite_metadata(directory, architecture={"layer_sizes": [784, 32, 10]})
    with pytest.raises(WeightsError, match="shape"):
        load_weights(directory)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values_are_refused(saved, bad):
    model, directory = saved
    tensors = {"layers.0.weight": model.params[0].copy(), "layers.0.bias": model.params[1],
               "layers.1.weight": model.params[2], "layers.1.bias": model.params[3]}
    tensors["layers.0.weight"][3, 3] = bad
    save_file(tensors, str(directory / "model.safetensors"))
    rewrite_metadata(directory, weights_sha256=file_sha256(directory / "model.safetensors"))
    with pytest.raises(WeightsError, match="NaN or infinite"):
        load_weights(directory)


def test_wrong_dtype_is_refused(saved):
    model, directory = saved
    tensors = {f"layers.{i // 2}.{'weight' if i % 2 == 0 else 'bias'}": p.astype(np.float64)
               for i, p in enumerate(model.params)}
    save_file(tensors, str(directory / "model.safetensors"))
    rewrite_metadata(directory, weights_sha256=file_sha256(directory / "model.safetensors"))
    with pytest.raises(WeightsError, match="expected float32"):
        load_weights(directory)


def test_npz_with_a_pickled_object_is_never_unpickled(saved, tmp_path):
    _, directory = saved
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (marker.touch, ())

    path = directory / "model.npz"
    with open(path, "wb") as f:
        np.savez(f, **{"layers.0.weight": np.array([Payload()], dtype=object)})
    rewrite_metadata(directory, weights_file="model.npz", weights_sha256=file_sha256(path))
    with pytest.raises(WeightsError, match="cannot read tensors"):
        load_weights(directory)
    assert not marker.exists()
    with np.load(path, allow_pickle=True) as archive:  # the payload really is there, as a pickled object
        assert archive["layers.0.weight"].dtype == object
    assert marker.exists()  # ...and loading it with pickles allowed would have run it


def test_npz_fallback_loads_plain_arrays(saved):
    model, directory = saved
    path = directory / "model.npz"
    np.savez(path, **{f"layers.{i // 2}.{'weight' if i % 2 == 0 else 'bias'}": p for i, p in enumerate(model.params)})
    rewrite_metadata(directory, weights_file="model.npz", weights_sha256=file_sha256(path))
    loaded, _ = load_weights(directory)
    np.testing.assert_array_equal(loaded.flat, model.flat)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"format": "something-else"}', "not a numpy-mlp-digits"),
    ('{"format": "numpy-mlp-digits", "format_version": 99}', "format_version"),
    ('[1, 2, 3]', "not a numpy-mlp-digits"),
])
def test_foreign_or_corrupt_metadata(saved, content, message):
    _, directory = saved
    (directory / "model.json").write_text(content)
    with pytest.raises(WeightsError, match=message):
        load_weights(directory)


def test_weights_file_name_cannot_escape_the_folder(saved, tmp_path_factory):
    _, directory = saved
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    shutil.copy(directory / "model.safetensors", elsewhere / "model.safetensors")
    rewrite_metadata(directory, weights_file=str(elsewhere / "model.safetensors"))
    with pytest.raises(WeightsError, match="plain .safetensors or .npz file name"):
        load_weights(directory)


def test_foreign_tensor_file_is_refused(saved):
    _, directory = saved
    path = directory / "model.safetensors"
    path.write_bytes(b"\x00" * 64)
    rewrite_metadata(directory, weights_sha256=file_sha256(path))
    with pytest.raises(WeightsError, match="cannot read tensors"):
        load_weights(directory)
