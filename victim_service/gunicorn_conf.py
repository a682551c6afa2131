"""gunicorn settings for the victim service, read from the environment.

Used as ``gunicorn --config python:victim_service.gunicorn_conf 'victim_service.app:create_app()'``
by ``mlrange serve`` and by docker/Dockerfile.victim alike. No preload: each worker builds
its own app after fork, so torch thread pools and SQLite connections are never shared
across processes.
"""

import os

bind = os.environ.get("MLRANGE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("MLRANGE_WORKERS", "2"))
worker_class = os.environ.get("MLRANGE_WORKER_CLASS", "sync")
threads = int(os.environ.get("MLRANGE_THREADS", "1"))
timeout = int(os.environ.get("MLRANGE_TIMEOUT", "120"))
graceful_timeout = 10
# gunicorn 23+ opens a control socket at one fixed path per user: several services on one
# machine (tests, benchmarks) would fight over it, and nothing here uses it.
control_socket_disable = True
keepalive = 5
accesslog = os.environ.get("MLRANGE_ACCESS_LOG") or None
loglevel = os.environ.get("MLRANGE_LOG_LEVEL", "info")
# One torch/OpenMP thread per worker: more threads than cores collapses throughput.
raw_env = [f"OMP_NUM_THREADS={os.environ.get('MLRANGE_TORCH_THREADS', '1')}"]


def on_starting(server):
    mp_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if mp_dir:
        os.makedirs(mp_dir, exist_ok=True)
        for name in os.listdir(mp_dir):  # stale files from an earlier run would be summed in
            if name.endswith(".db"):
                os.remove(os.path.join(mp_dir, name))


def child_exit(server, worker):
    from victim_service.app.metrics import mark_worker_dead

    mark_worker_dead(worker.pid)
