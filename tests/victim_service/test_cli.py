"""The `mlrange` command line: help everywhere, keys created offline, `serve` really serving."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ADMIN_TOKEN
from victim_service.serve import free_port

MLRANGE = str(Path(sys.executable).parent / "mlrange")


def run(*args, **kw):
    return subprocess.run(
        [MLRANGE, *args], capture_output=True, text=True, timeout=120, check=False, **kw
    )


@pytest.mark.parametrize(
    "cmd",
    [
        [],
        ["victims"],
        ["victims", "build"],
        ["victims", "list"],
        ["victims", "serving"],
        ["serve"],
        ["keys"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["scenario"],
        ["scenario", "run"],
        ["data"],
        ["data", "show"],
    ],
)
def test_help_everywhere(cmd):
    r = run(*cmd, "--help")
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout


def test_service_commands_come_from_victim_service():
    """The service owns serve, keys and victims list|serving; scenarios/cli.py mounts them."""
    from typer.testing import CliRunner

    from scenarios.cli import app

    runner = CliRunner()
    mounted = ((["serve"], "--ledger"), (["keys"], "revoke"), (["victims", "serving"], "--price"))
    for cmd, expected in mounted:
        r = runner.invoke(app, [*cmd, "--help"])
        assert r.exit_code == 0 and expected in r.output, r.output
    probe = "import sys, scenarios.cli; print('torch' in sys.modules)"
    cold = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert cold.stdout.strip() == "False", cold.stderr  # --help must not pay for importing torch


def test_keys_create_through_the_admin_api(service):
    env = {**os.environ, "MLRANGE_ADMIN_TOKEN": ADMIN_TOKEN}
    r = run(
        "keys",
        "create",
        "--budget",
        "4",
        "--policy",
        "label",
        "--url",
        service.url,
        "--json",
        env=env,
    )
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["policy"] == "label" and record["key"].startswith("mlr_")
    bad = run("keys", "create", "--budget", "4", "--policy", "top7x", "--url", service.url, env=env)
    assert bad.returncode == 1 and "error 422" in bad.stderr and "top7x" in bad.stderr


def test_keys_created_offline_work_over_serve(small_store, tmp_path):
    store, state = small_store / "store", tmp_path / "state"
    r = run(
        "keys",
        "create",
        "--budget",
        "6",
        "--models",
        "tab-logreg",
        "--policy",
        "label",
        "--store",
        str(store),
        "--state",
        str(state),
    )
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("mlr_")
    bad = run(
        "keys",
        "create",
        "--budget",
        "6",
        "--models",
        "ghost",
        "--store",
        str(store),
        "--state",
        str(state),
    )
    assert bad.returncode != 0 and "ghost" in bad.stderr

    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    proc = subprocess.Popen(
        [
            MLRANGE,
            "serve",
            "--store",
            str(store),
            "--state",
            str(state),
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(300):
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        r = requests.post(
            f"http://127.0.0.1:{port}/v1/models/tab-logreg/predict",
            json={"inputs": [[1.0] * 20] * 4},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (
            body["policy"] == "label"
            and body["probabilities"] is None
            and body["usage"]["remaining"] == 2
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    listed = run("keys", "list", "--store", str(store), "--state", str(state))
    assert "4/6" in listed.stdout


def test_victims_serving_sets_the_model_policy(small_store, tmp_path):
    import shutil

    from victim_service.store import ArtifactStore

    store = tmp_path / "store"
    shutil.copytree(small_store / "store", store)
    r = run(
        "victims",
        "serving",
        "tab-xgb",
        "--policy",
        "round:2+top1",
        "--price",
        "3",
        "--store",
        str(store),
    )
    assert r.returncode == 0, r.stderr
    card = ArtifactStore(store).card("tab-xgb")
    assert (card.serving.policy, card.serving.price) == ("top1+round:2", 3)
    assert (
        run(
            "victims", "serving", "tab-xgb", "--policy", "nonsense", "--store", str(store)
        ).returncode
        != 0
    )
    assert run("victims", "serving", "ghost", "--store", str(store)).returncode != 0
    listed = run("victims", "list", "--store", str(store)).stdout
    assert "tab-xgb" in listed and "price=3" in listed
