"""MNIST loading: the real files, synthetic broken ones, and the download path against a loopback server."""

from __future__ import annotations

import functools
import gzip
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from training import data
from training.data import DataError, load_mnist, parse_idx, read_idx_gz

from .conftest import mnist_dir


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_real_mnist_matches_the_published_facts(mnist):
    assert mnist.train_images.shape == (55000, 784) and mnist.dev_images.shape == (5000, 784)
    assert mnist.test_images.shape == (10000, 784) and mnist.test_images.dtype == np.float32
    assert 0.0 == mnist.test_images.min() and mnist.test_images.max() == 1.0
    assert list(mnist.train_labels[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(mnist.test_labels[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    all_train = np.concatenate([mnist.train_labels, mnist.dev_labels])
    assert list(np.bincount(all_train)) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert list(np.bincount(mnist.test_labels)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_parse_synthetic_idx():
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(images)), images)
    np.testing.assert_array_equal(parse_idx(idx_bytes(np.array([7, 1]))), [7, 1])


@pytest.mark.parametrize("payload, message", [
    (b"", "too short"),
    (b"\x00\x00\x0d\x01" + (2).to_bytes(4, "big") + b"\x00" * 8, "not an unsigned-byte IDX"),
    (b"\x00\x00\x08\x03" + (2).to_bytes(4, "big"), "header cut short"),
    (idx_bytes(np.zeros((3, 2, 2)))[:-1], "header says shape"),
    (idx_bytes(np.zeros((3, 2, 2))) + b"\x00", "header says shape"),
])
def test_corrupt_idx_is_refused(payload, message):
    with pytest.raises(DataError, match=message):
        parse_idx(payload, "x.idx")


def test_gzip_problems_name_the_file(tmp_path):
    missing = tmp_path / "missing.gz"
    with pytest.raises(DataError, match="missing.gz: file not found"):
        read_idx_gz(missing)
    not_gzip = tmp_path / "plain.gz"
    not_gzip.write_bytes(b"this is not gzip")
    with pytest.raises(DataError, match="plain.gz: not a readable gzip"):
        read_idx_gz(not_gzip)
    truncated = tmp_path / "cut.gz"
    noise = np.random.default_rng(0).integers(0, 256, (50, 28, 28))
    truncated.write_bytes(gzip.compress(idx_bytes(noise))[:2000])
    with pytest.raises(DataError, match="cut.gz: not a readable gzip"):
        read_idx_gz(truncated)


def test_foreign_file_under_an_mnist_name_fails_the_checksum(tmp_path):
    for name in data.MNIST_FILES:
        shutil.copy(mnist_dir() / name, tmp_path / name)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(10000))))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: MD5 of the decompressed data is"):
        load_mnist(tmp_path)


def test_missing_file_in_an_explicit_folder_is_not_downloaded(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: file not found"):
        load_mnist(tmp_path, mirrors=("http://127.0.0.1:9/",))
    assert not any(tmp_path.iterdir())


@pytest.fixture
def mirror(tmp_path):
    """A loopback HTTP server; returns (base URL, folder it serves)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", served
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def use_cache(monkeypatch, cache: Path) -> None:
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "DEFAULT_CACHE", cache)


def test_download_fills_the_cache_and_verifies(mirror, tmp_path, monkeypatch):
    url, served = mirror
    for name in data.MNIST_FILES:
        shutil.copy(mnist_dir() / name, served / name)
    cache = tmp_path / "cache"
    use_cache(monkeypatch, cache)
    splits = load_mnist(mirrors=("http://127.0.0.1:9/unreachable/", url))  # first mirror fails, second works
    assert list(splits.test_labels[:3]) == [7, 2, 1]
    assert sorted(p.name for p in cache.iterdir()) == sorted(data.MNIST_FILES)  # no temporary files left
    for name in data.MNIST_FILES:  # served files removed: the second load reads the cache only
        (served / name).unlink()
    assert list(load_mnist(mirrors=(url,)).train_labels[:3]) == [5, 0, 4]


def test_bad_download_never_lands_in_the_cache(mirror, tmp_path, monkeypatch):
    url, served = mirror
    for name in data.MNIST_FILES:
        shutil.copy(mnist_dir() / name, served / name)
    # The mirror serves a truncated images file: it must be refused and not cached.
    full = (served / "t10k-images-idx3-ubyte.gz").read_bytes()
    (served / "t10k-images-idx3-ubyte.gz").write_bytes(full[: len(full) // 2])
    cache = tmp_path / "cache"
    use_cache(monkeypatch, cache)
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: not present and every mirror failed"):
        load_mnist(mirrors=(url,))
    assert not (cache / "t10k-images-idx3-ubyte.gz").exists()
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no half-written leftovers


def test_mnist_mirror_variable_picks_the_mirror(mirror, tmp_path, monkeypatch):
    url, served = mirror
    for name in data.MNIST_FILES:
        shutil.copy(mnist_dir() / name, served / name)
    use_cache(monkeypatch, tmp_path / "cache")
    monkeypatch.setenv("MNIST_MIRROR", url)
    assert len(load_mnist().test_labels) == 10000
