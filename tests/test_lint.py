"""The tree stays lint-clean: ruff runs as part of the test command."""

from __future__ import annotations

import shutil
import subprocess
import sys

from .conftest import REPO


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff") or str(REPO / ".venv" / "bin" / "ruff")
    result = subprocess.run([ruff, "check", "--output-format", "concise", str(REPO)], capture_output=True,
                            text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sys.version_info >= (3, 11)
