"""No Docker engine runs here, so run exactly the command docker/Dockerfile.victim runs
(its CMD, with its ENV) and check the service answers as the image's HEALTHCHECK would."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from victim_service.admin_client import AdminClient
from victim_service.serve import free_port, gunicorn_argv

DOCKERFILE = Path(__file__).resolve().parents[1] / "docker" / "Dockerfile.victim"


def parse_dockerfile(text: str) -> tuple[dict, list[str]]:
    text = re.sub(r"\\\n", " ", text)
    env, cmd = {}, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("ENV "):
            for part in shlex.split(line[4:]):
                k, _, v = part.partition("=")
                env[k] = v
        elif line.startswith("CMD "):
            cmd = json.loads(line[4:])
    return env, cmd


def test_dockerfile_cmd_is_the_serve_command():
    _, cmd = parse_dockerfile(DOCKERFILE.read_text())
    assert cmd == gunicorn_argv()
    text = DOCKERFILE.read_text()
    assert "USER mlrange" in text and "HEALTHCHECK" in text


def test_dockerfile_command_serves(small_store, tmp_path):
    env_docker, cmd = parse_dockerfile(DOCKERFILE.read_text())
    port = free_port()
    env = {**os.environ, **env_docker}
    # The container's paths and port, mapped onto this machine's temp folders and loopback.
    env.update(
        {
            "MLRANGE_STORE": str(small_store / "store"),
            "MLRANGE_STATE": str(tmp_path / "state"),
            "MLRANGE_BIND": f"127.0.0.1:{port}",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
            "MLRANGE_ADMIN_TOKEN": "docker-admin",
        }
    )
    (tmp_path / "prom").mkdir()
    exe = str(Path(sys.executable).parent / cmd[0])
    proc = subprocess.Popen(
        [exe, *cmd[1:]],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            raise AssertionError("the Dockerfile's command never became healthy")
        with AdminClient(f"http://127.0.0.1:{port}", "docker-admin") as admin:
            key = admin.create_key(3)["key"]
        r = requests.post(
            f"http://127.0.0.1:{port}/v1/models/tab-logreg/predict",
            json={"inputs": [[0.0] * 20]},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["usage"]["remaining"] == 2
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
