"""ServiceProcess leaves no server behind: neither when the process that started it is
killed outright (SIGKILL: the kernel's parent-death signal reaches gunicorn) nor when the
`mlrange` CLI is terminated (SIGTERM unwinds and stops the service)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import ADMIN_TOKEN

# what `mlrange scenario run` does around its attacks
STARTER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from scenarios.cli import exit_on_sigterm
    from victim_service.config import ServiceConfig
    from victim_service.serve import ServiceProcess

    exit_on_sigterm()
    store, state = sys.argv[1], sys.argv[2]
    config = ServiceConfig(store=Path(store), state=Path(state), admin_token={token!r})
    with ServiceProcess(config, workers=2) as svc:
        print(svc.proc.pid, flush=True)
        time.sleep(600)
""")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie awaiting its reaper counts as gone
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def wait_gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize(
    "sig",
    [
        pytest.param(
            signal.SIGKILL,
            marks=pytest.mark.skipif(
                sys.platform != "linux", reason="parent-death signal is Linux-only"
            ),
        ),
        signal.SIGTERM,
    ],
)
def test_no_server_outlives_its_starter(sig, small_store, tmp_path):
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            STARTER.format(token=ADMIN_TOKEN),
            str(small_store / "store"),
            str(tmp_path / "state"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        master = int(starter.stdout.readline())
        assert alive(master)
        starter.send_signal(sig)
        rc = starter.wait(timeout=60)
        assert wait_gone(master), "gunicorn outlived the process that started it"
        if sig == signal.SIGTERM:
            assert rc == 128 + signal.SIGTERM  # unwound through sys.exit, not killed
    finally:
        if starter.poll() is None:
            starter.kill()
