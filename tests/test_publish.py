"""Publishing to the Hub and serving Hub weights, for real through huggingface_hub, against a fake Hub on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml
from gradio_client import Client

from model import MLP, MLPConfig, load_weights, save_weights
from model.hub import load_served_weights

from .app_server import running_app
from .conftest import REPO
from .fake_hub import FakeHub

TOKEN = "hf_FakeTokenLeakCheck9f3a2b7c1d"  # recognisable, so a leak anywhere can be searched for
SHIPPED = REPO / "weights"


@pytest.fixture
def hub():
    with FakeHub(TOKEN) as hub:
        yield hub


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    environment.update({"HF_HUB_DISABLE_TELEMETRY": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "training", *args], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def assert_no_token(*texts: str, folder: Path | None = None) -> None:
    for text in texts:
        assert TOKEN not in text
    if folder is not None:
        for path in folder.rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path


def other_weights(directory: Path) -> Path:
    """A small, different set of valid weights, so a test can tell which weights are served."""
    model = MLP.initialise(MLPConfig((784, 32, 10)), np.random.default_rng(5))
    save_weights(model, directory, {"metrics": {"test_accuracy": 0.5}, "calibration": {"temperature": 1.0}})
    return directory


def test_staged_folder_has_a_valid_model_card_and_loadable_weights(tmp_path):
    result = cli("publish", "--repo-id", "me/digits", "--dry-run", "--staging-dir", str(tmp_path / "stage"))
    assert result.returncode == 0, result.stderr
    stage = tmp_path / "stage"
    assert "model.safetensors" in result.stdout and "README.md" in result.stdout
    for name in ("README.md", "model.json", "model.safetensors", "reports/confusion_matrix.png",
                 "reports/training_curves.png", "reports/report.json"):
        assert (stage / name).is_file(), name
    card = (stage / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert front["license"] == "mit" and front["library_name"] == "numpy" and "mnist" in front["tags"]
    assert front["datasets"] == ["ylecun/mnist"]
    card_accuracy = front["model-index"][0]["results"][0]["metrics"][0]["value"]
    model, metadata = load_weights(stage)
    report = json.loads((stage / "reports" / "report.json").read_text())
    assert card_accuracy == metadata["metrics"]["test_accuracy"] == report["test_accuracy"]
    np.testing.assert_array_equal(model.flat, load_weights(SHIPPED)[0].flat)
    assert "md5" in card.lower() or "MD5" in card
    assert "load_file" in card  # how to load with NumPy


def test_no_token_stops_before_anything_is_sent(hub, tmp_path):
    result = cli("publish", "--repo-id", "me/digits", "--endpoint", hub.url, "--staging-dir", str(tmp_path / "s"),
                 env={"HF_HOME": str(tmp_path / "hf-home")})
    assert result.returncode == 2
    assert "no Hugging Face token" in result.stderr and "Traceback" not in result.stderr
    assert hub.requests == [] and not (tmp_path / "s").exists()


def test_rejected_token_is_a_clear_message_and_nothing_is_published(hub, tmp_path):
    result = cli("publish", "--repo-id", "me/digits", "--endpoint", hub.url, "--staging-dir", str(tmp_path / "s"),
                 env={"HF_TOKEN": "hf_wrong_token_value", "HF_HOME": str(tmp_path / "hf-home")})
    assert result.returncode == 2
    assert "token was rejected" in result.stderr and "hf_wrong_token_value" not in result.stderr
    assert hub.repos == {}


def test_publish_then_serve_exactly_those_weights(hub, tmp_path):
    weights = other_weights(tmp_path / "weights")
    stage = tmp_path / "stage"
    env = {"HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path / "hf-home")}
    result = cli("publish", "--repo-id", "me/digits", "--endpoint", hub.url, "--weights", str(weights),
                 "--staging-dir", str(stage), "--tag", "v1", env=env)
    assert result.returncode == 0, result.stderr
    repo = hub.repos[("model", "me/digits")]
    assert len(repo.commits) == 1  # one commit, holding everything
    files = repo.commits[0]["files"]
    assert {"README.md", "model.json", "model.safetensors", "reports/confusion_matrix.png"} <= set(files)
    assert files["model.safetensors"] == (weights / "model.safetensors").read_bytes()
    assert repo.refs["v1"] == repo.commits[0]["oid"]
    assert repo.commits[0]["oid"] in result.stdout and "commit/" in result.stdout
    assert_no_token(result.stdout, result.stderr, folder=stage)
    assert all(TOKEN.encode() not in body for _, _, body in hub.requests)

    # The app started with MODEL_REPO serves exactly the published tensors.
    sha = json.loads((weights / "model.json").read_text())["weights_sha256"]
    app_env = {"MODEL_REPO": "me/digits", "MODEL_REVISION": "v1", "HF_ENDPOINT": hub.url,
               "HF_HOME": str(tmp_path / "hf-home"), "HF_TOKEN": TOKEN, "HF_HUB_DISABLE_TELEMETRY": "1"}
    log = tmp_path / "app.log"
    with running_app(log, app_env) as url:
        client = Client(url, verbose=False)
        served = client.predict({"background": None, "layers": [], "composite": None}, api_name="/predict")[-1]
        with urllib.request.urlopen(url) as response:
            page = response.read().decode() + json.dumps(client.config)
    assert served["weights"]["sha256"] == sha
    assert "Hub weights me/digits@v1" in served["weights"]["source"]
    assert_no_token(log.read_text(), page)

    # Offline with the cache filled by that run: the pinned revision still loads.
    offline = load_served_weights(SHIPPED, {**app_env, "HF_HUB_OFFLINE": "1"})
    assert offline.notice == "" and offline.metadata["weights_sha256"] == sha


def test_offline_with_an_empty_cache_falls_back_to_the_shipped_weights(tmp_path):
    env = {"MODEL_REPO": "me/digits", "MODEL_REVISION": "v1", "HF_HUB_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "empty-hf-home"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    loaded = load_served_weights(SHIPPED, env)
    assert loaded.source == "shipped weights (weights/)"
    assert "could not be fetched" in loaded.notice and "me/digits@v1" in loaded.notice
    log = tmp_path / "app.log"
    with running_app(log, env) as url:
        served = Client(url, verbose=False).predict({"background": None, "layers": [], "composite": None},
                                                    api_name="/predict")[-1]
        html = Client(url, verbose=False).config
    assert served["weights"]["sha256"] == load_weights(SHIPPED)[1]["weights_sha256"]
    assert "serving the shipped weights instead" in log.read_text()
    assert "serving the shipped weights instead" in json.dumps(html)  # the notice is on the page


def test_hub_weights_that_fail_verification_are_not_served(hub, tmp_path, monkeypatch):
    weights = other_weights(tmp_path / "weights")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    from training.publish import PublishConfig, publish

    publish(PublishConfig("me/digits", tag="v1"), weights, tmp_path / "no-reports", tmp_path / "stage", hub.url)
    repo = hub.repos[("model", "me/digits")]
    tampered = bytearray(repo.commits[0]["files"]["model.safetensors"])
    tampered[-3] ^= 0xFF
    repo.commits[0]["files"]["model.safetensors"] = bytes(tampered)
    env = {"MODEL_REPO": "me/digits", "MODEL_REVISION": "v1", "HF_ENDPOINT": hub.url,
           "HF_HOME": str(tmp_path / "hf-home")}
    loaded = load_served_weights(SHIPPED, env)
    assert "failed verification" in loaded.notice and "does not match" in loaded.notice
    assert loaded.source == "shipped weights (weights/)"


def test_deploy_space_uploads_the_app_and_pins_the_weights(hub, tmp_path):
    env = {"HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path / "hf-home")}
    result = cli("deploy-space", "--space-id", "me/digit-app", "--model-repo", "me/digits",
                 "--model-revision", "v1", "--endpoint", hub.url, env=env)
    assert result.returncode == 0, result.stderr
    space = hub.repos[("space", "me/digit-app")]
    assert space.variables == {"MODEL_REPO": "me/digits", "MODEL_REVISION": "v1"}
    files = space.commits[-1]["files"]
    assert {"app.py", "requirements.txt", "README.md", "model/hub.py", "weights/model.safetensors"} <= set(files)
    assert files["app.py"] == (REPO / "app.py").read_bytes()
    assert_no_token(result.stdout, result.stderr)
    unpinned = cli("deploy-space", "--space-id", "me/digit-app", "--model-repo", "me/digits", "--endpoint", hub.url,
                   env=env)
    assert unpinned.returncode == 2 and "--model-revision is required" in unpinned.stderr
