"""MNIST: find, download, verify and read the four original IDX files.

Where the files come from, first match wins:
1. an explicit data directory (`--data-dir`), then the `MNIST_DIR` variable:
   the files must be there, nothing is downloaded;
2. otherwise a git-ignored cache (`.cache/mnist` in the repository), filled
   from a public mirror on first use.

Every file is checked against the MD5 of its decompressed bytes (the sums that
every MNIST loader checks; the .gz bytes differ between mirrors), and a
download is written to a temporary name and renamed only once verified, so a
half-written file is never taken for a good one.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_ROOT / ".cache" / "mnist"

# name -> (MD5 of the decompressed file, IDX type code 2049 labels / 2051 images, item count)
MNIST_FILES: dict[str, tuple[str, int, int]] = {
    "train-images-idx3-ubyte.gz": ("6bbc9ace898e44ae57da46a324031adb", 2051, 60000),
    "train-labels-idx1-ubyte.gz": ("a25bea736e30d166cdddb491f175f624", 2049, 60000),
    "t10k-images-idx3-ubyte.gz": ("2646ac647ad5339dbf082846283269ea", 2051, 10000),
    "t10k-labels-idx1-ubyte.gz": ("27ae3e4e09519cfbb04c329615203637", 2049, 10000),
}
# Public mirrors of the original files, tried in order (MNIST_MIRROR overrides them).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
DEV_SIZE = 5000  # the last 5,000 of the 60,000 training images are the dev split


class DataError(ValueError):
    """A data file that is missing, damaged or not MNIST; the message names the file."""


@dataclass(frozen=True)
class MnistSplits:
    """Images (n, 784) float32 in [0, 1], ink = 1; labels (n,) uint8."""

    train_images: np.ndarray
    train_labels: np.ndarray
    dev_images: np.ndarray
    dev_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode an uncompressed IDX file of unsigned bytes into an array of its stated shape."""
    if len(data) < 4:
        raise DataError(f"{source}: too short to be an IDX file ({len(data)} bytes)")
    zero, dtype_code, n_dims = data[0] << 8 | data[1], data[2], data[3]
    if zero != 0 or dtype_code != 0x08 or not 1 <= n_dims <= 3:
        raise DataError(f"{source}: not an unsigned-byte IDX file (header {data[:4].hex()})")
    header_size = 4 + 4 * n_dims
    if len(data) < header_size:
        raise DataError(f"{source}: header cut short ({len(data)} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
    expected = header_size + int(np.prod(shape))
    if len(data) != expected:
        raise DataError(f"{source}: header says shape {shape} ({expected} bytes) but the file has {len(data)} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def read_idx_gz(path: Path, expected_md5: str | None = None) -> np.ndarray:
    """Read a gzip-compressed IDX file, checking the decompressed MD5 when one is given."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: not a readable gzip file ({err})") from None
    if expected_md5 is not None:
        actual = hashlib.md5(data).hexdigest()
        if actual != expected_md5:
            raise DataError(f"{path}: MD5 of the decompressed data is {actual}, expected {expected_md5}")
    return parse_idx(data, str(path))


def resolve_data_dir(data_dir: str | Path | None = None) -> tuple[Path, bool]:
    """(directory, may_download): the explicit one, else MNIST_DIR, else the cache."""
    if data_dir is not None:
        return Path(data_dir), False
    if os.environ.get("MNIST_DIR"):
        return Path(os.environ["MNIST_DIR"]), False
    return DEFAULT_CACHE, True


def _download(url: str, target: Path, expected_md5: str, progress: bool) -> None:
    """Fetch `url` to a temporary file beside `target`, verify it, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with urllib.request.urlopen(url, timeout=30) as response, os.fdopen(fd, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, desc=target.name)
            while block := response.read(1 << 16):
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
            if bar is not None:
                bar.close()
        read_idx_gz(tmp, expected_md5)  # raises DataError on a bad download
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_file(name: str, directory: Path, may_download: bool, mirrors: tuple[str, ...], progress: bool) -> Path:
    """Path of a verified-present MNIST file, downloading it into `directory` if allowed."""
    path = directory / name
    if path.is_file() or not may_download:
        return path
    errors = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        log.info("downloading %s", url)
        try:
            _download(url, path, MNIST_FILES[name][0], progress)
            return path
        except (urllib.error.URLError, OSError, DataError) as err:
            log.warning("download from %s failed: %s", url, err)
            errors.append(f"{url}: {err}")
    raise DataError(f"{path}: not present and every mirror failed:\n  " + "\n  ".join(errors))


def load_mnist(
    data_dir: str | Path | None = None,
    mirrors: tuple[str, ...] | None = None,
    progress: bool = False,
    dev_size: int = DEV_SIZE,
) -> MnistSplits:
    """Load MNIST as train / dev / test splits; the dev split is the last `dev_size` training images."""
    directory, may_download = resolve_data_dir(data_dir)
    if mirrors is None:
        mirrors = (os.environ["MNIST_MIRROR"],) if os.environ.get("MNIST_MIRROR") else MIRRORS
    arrays = {}
    for name, (md5, kind, count) in MNIST_FILES.items():
        path = ensure_file(name, directory, may_download, mirrors, progress)
        array = read_idx_gz(path, md5)
        expected_shape = (count, 28, 28) if kind == 2051 else (count,)
        if array.shape != expected_shape:  # unreachable once the MD5 matched; kept as a guard
            raise DataError(f"{path}: shape {array.shape}, expected {expected_shape}")
        arrays[name] = array
    if not 0 <= dev_size < 60000:
        raise ValueError(f"dev_size must be in [0, 60000), got {dev_size}")

    def images(name: str) -> np.ndarray:
        return (arrays[name].reshape(-1, 784) / np.float32(255)).astype(np.float32)

    train_x, train_y = images("train-images-idx3-ubyte.gz"), arrays["train-labels-idx1-ubyte.gz"]
    cut = 60000 - dev_size
    return MnistSplits(
        train_images=train_x[:cut],
        train_labels=train_y[:cut],
        dev_images=train_x[cut:],
        dev_labels=train_y[cut:],
        test_images=images("t10k-images-idx3-ubyte.gz"),
        test_labels=arrays["t10k-labels-idx1-ubyte.gz"],
    )


def mnist_checksums() -> dict[str, str]:
    """MD5 of each decompressed file, for the weights metadata."""
    return {name.removesuffix(".gz"): md5 for name, (md5, _, _) in MNIST_FILES.items()}
