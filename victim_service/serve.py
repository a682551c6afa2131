"""Start the service under gunicorn: the one command line that ``mlrange serve``, the
tests and docker/Dockerfile.victim all run."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .config import ServiceConfig

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

APP = "victim_service.app:create_app()"
READY_LINE = "mlrange worker ready"


# Runs as the child before gunicorn: asks the kernel to send it SIGTERM when the process
# that started it dies (so a killed scenario run or test session leaves no server behind:
# its own session keeps it out of the parent's terminal signals otherwise), then execs
# gunicorn in place. A launcher rather than Popen's preexec_fn, which is unsafe in a
# threaded parent. Linux only; elsewhere gunicorn is started directly.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit('parent exited before the service started')\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def launch_argv(executable: str, args: list[str]) -> list[str]:
    """The argv that starts ``executable`` tied to this process's lifetime (see above)."""
    if sys.platform != "linux":
        return [executable, *args]
    return [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), executable, *args]


def gunicorn_argv() -> list[str]:
    """The exact argv the Dockerfile's CMD holds (tests compare the two)."""
    return ["gunicorn", "--config", "python:victim_service.gunicorn_conf", APP]


def gunicorn_env(
    config: ServiceConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 2,
    worker_class: str = "sync",
    threads: int = 1,
    base: dict | None = None,
) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(config.to_env())
    env.update(
        {
            "MLRANGE_BIND": f"{host}:{port}",
            "MLRANGE_WORKERS": str(workers),
            "MLRANGE_WORKER_CLASS": worker_class,
            "MLRANGE_THREADS": str(threads),
            "OMP_NUM_THREADS": str(config.torch_threads),
            "MKL_NUM_THREADS": str(config.torch_threads),
        }
    )
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="mlrange-prom-"))
    return env


def gunicorn_executable() -> str:
    """gunicorn next to this interpreter (the venv's), else on PATH."""
    here = Path(sys.executable).parent / "gunicorn"
    return str(here) if here.exists() else (shutil.which("gunicorn") or "gunicorn")


def exec_gunicorn(env: dict[str, str]) -> None:
    argv = gunicorn_argv()
    os.execvpe(gunicorn_executable(), [gunicorn_executable(), *argv[1:]], env)


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServiceProcess:
    """The real service under gunicorn on a loopback port, as a context manager: used by
    the scenario runner, the tests and the benchmarks. On Linux the server dies with the
    thread that started it (the kernel's parent-death signal is per thread), so start it
    from a thread that outlives it, normally the main one.

    >>> with ServiceProcess(config, workers=2) as svc:
    ...     requests.get(svc.url + "/healthz")
    """

    def __init__(
        self,
        config: ServiceConfig,
        workers: int = 2,
        host: str = "127.0.0.1",
        port: int | None = None,
        worker_class: str = "sync",
        threads: int = 1,
        log_path: str | Path | None = None,
        startup_timeout: float = 120.0,
        extra_env: dict | None = None,
    ):
        self.config, self.workers, self.host = config, workers, host
        self.port = port or free_port(host)
        self.worker_class, self.threads = worker_class, threads
        self.log_path = (
            Path(log_path)
            if log_path
            else Path(tempfile.mkdtemp(prefix="mlrange-svc-")) / "gunicorn.log"
        )
        self.startup_timeout = startup_timeout
        self.extra_env = extra_env or {}
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServiceProcess:
        import subprocess
        import time
        import urllib.request

        env = gunicorn_env(
            self.config, self.host, self.port, self.workers, self.worker_class, self.threads
        )
        env.update(self.extra_env)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - gunicorn writes it until stop()
        argv = gunicorn_argv()
        self.proc = subprocess.Popen(
            launch_argv(gunicorn_executable(), argv[1:]),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.proc.returncode}; log:\n{self.log_tail()}"
                )
            # every worker must have built its app (loaded its models), not just the first
            if self.log_tail(10**6).count(READY_LINE) >= self.workers:
                try:
                    with urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
                        if r.status == 200:
                            return self
                except OSError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(
            f"service did not become healthy in {self.startup_timeout}s; log:\n{self.log_tail()}"
        )

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        import signal
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
