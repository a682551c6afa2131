"""``mlrange``: the one command line. ``mlrange --help`` and ``mlrange CMD --help`` on every
command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="mlrange: attack and defend ML-as-a-service on one machine.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
victims_app = typer.Typer(help="Train and list victim models.", no_args_is_help=True)
keys_app = typer.Typer(help="Issue, list and revoke API keys.", no_args_is_help=True)
scenario_app = typer.Typer(help="Run scenarios (both sides from one YAML file).", no_args_is_help=True)
data_app = typer.Typer(help="Look at the built-in datasets.", no_args_is_help=True)
app.add_typer(victims_app, name="victims")
app.add_typer(keys_app, name="keys")
app.add_typer(scenario_app, name="scenario")
app.add_typer(data_app, name="data")

STORE_OPT = typer.Option(Path("store"), "--store", help="Artifact store folder (one subfolder per model).")
STATE_HELP = "Service state folder (keys database, default SQLite ledger). Default: <store>/../state."


def _state(store: Path, state: Optional[Path]) -> Path:
    return state or Path(os.environ.get("MLRANGE_STATE") or store.parent / "state")


def _torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


@victims_app.command("build")
def victims_build(
    preset: str = typer.Option("default", help="Preset of victims (scenarios/presets/<name>.yaml)."),
    store: Path = STORE_OPT,
    truth: Optional[Path] = typer.Option(None, help="Where membership ground truth goes (never read by the service). Default: <store>.truth"),
    only: Optional[str] = typer.Option(None, help="Comma-separated victim ids of the preset to build."),
    force: bool = typer.Option(False, help="Retrain even when a matching entry exists."),
    threads: int = typer.Option(2, help="torch threads for training."),
):
    """Train a preset's victims into the store (cached: unchanged specs are reused)."""
    from victim_service.store import ArtifactStore

    from .victims import build_victim, default_truth_dir, load_preset

    _torch_threads(threads)
    specs = load_preset(preset)
    if only:
        wanted = set(only.split(","))
        specs = [s for s in specs if s.id in wanted]
    st, truth_dir = ArtifactStore(store), truth or default_truth_dir(store)
    for spec in specs:
        built = build_victim(spec, st, truth_dir, force=force)
        c = built.card
        typer.echo(f"{c.id:14s} {'reused ' if built.reused else 'trained'} train acc {c.train_accuracy:.3f}  "
                   f"test acc {c.test_accuracy:.3f}  n={c.train_size}  ({c.training_seconds:.0f}s)")
    typer.echo(f"store: {store}   ground truth: {truth_dir}")


@victims_app.command("list")
def victims_list(store: Path = STORE_OPT):
    """List the models in a store with their cards' headline figures."""
    from victim_service.store import ArtifactStore

    st = ArtifactStore(store)
    for mid in st.ids():
        c = st.card(mid)
        typer.echo(f"{mid:16s} {c.architecture['name']:10s} classes={c.num_classes:<4d} train={c.train_accuracy:.3f} "
                   f"test={c.test_accuracy:.3f} policy={c.serving.policy} price={c.serving.price}")


@victims_app.command("serving")
def victims_serving(
    model: str = typer.Argument(..., help="Model id in the store."),
    policy: Optional[str] = typer.Option(None, help="Default output policy of the model, e.g. top1 or round:2 (keys may override)."),
    price: Optional[int] = typer.Option(None, help="Price per query in budget units."),
    store: Path = STORE_OPT,
):
    """Set how a model is offered: its default output policy and price (restart the service to apply)."""
    from victim_service.policies import OutputPolicy, PolicyError
    from victim_service.store import ArtifactStore

    st = ArtifactStore(store)
    if model not in st:
        raise typer.BadParameter(f"no model {model!r} in {store}; known: {st.ids()}")
    try:
        policy = str(OutputPolicy.parse(policy)) if policy is not None else None
    except PolicyError as e:
        raise typer.BadParameter(str(e)) from None
    if price is not None and price < 1:
        raise typer.BadParameter("price must be >= 1")
    card = st.set_serving(model, policy, price)
    typer.echo(f"{model}: policy {card.serving.policy}, price {card.serving.price}")


@app.command("serve")
def serve(
    store: Path = STORE_OPT,
    state: Optional[Path] = typer.Option(None, help=STATE_HELP),
    host: str = typer.Option("127.0.0.1", help="Bind address (loopback by default)."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(2, help="gunicorn workers (one torch thread each)."),
    ledger: Optional[str] = typer.Option(None, help="sqlite:///PATH (default <state>/ledger.db) or redis://HOST:PORT/DB."),
    models: Optional[str] = typer.Option(None, help="Comma-separated model ids to host (default: all)."),
    max_batch: int = typer.Option(1024, help="Most inputs per request (more: 413)."),
    rate_limit: Optional[str] = typer.Option(None, help="Per-key request rate on predict, e.g. '50/second'."),
    worker_class: str = typer.Option("sync", help="gunicorn worker class (sync or gthread)."),
):
    """Serve the store's models under gunicorn. The admin token comes from MLRANGE_ADMIN_TOKEN."""
    from victim_service.config import ServiceConfig
    from victim_service.serve import exec_gunicorn, gunicorn_env

    config = ServiceConfig(store=store.resolve(), state=_state(store, state).resolve(), ledger_url=ledger,
                           admin_token=os.environ.get("MLRANGE_ADMIN_TOKEN"),
                           models=models.split(",") if models else None, max_batch=max_batch, rate_limit=rate_limit)
    if not config.admin_token:
        typer.echo("note: MLRANGE_ADMIN_TOKEN is not set, so /admin endpoints are off (use `mlrange keys create`)", err=True)
    typer.echo(f"serving {store} on http://{host}:{port} with {workers} workers", err=True)
    exec_gunicorn(gunicorn_env(config, host, port, workers, worker_class))


@keys_app.command("create")
def keys_create(
    budget: int = typer.Option(..., help="Query budget (units; one input costs the model's price, 1 by default)."),
    models: Optional[str] = typer.Option(None, help="Comma-separated model ids the key may use (default: all)."),
    policy: Optional[str] = typer.Option(None, help="Output policy override, e.g. top1, label, round:2, top1+round:2."),
    label: str = typer.Option("", help="A note kept with the key."),
    url: Optional[str] = typer.Option(None, envvar="MLRANGE_URL", help="Create through a running service's admin API (needs MLRANGE_ADMIN_TOKEN)."),
    store: Path = STORE_OPT,
    state: Optional[Path] = typer.Option(None, help=STATE_HELP),
    ledger: Optional[str] = typer.Option(None, help="Ledger URL (default sqlite:///<state>/ledger.db)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole record as JSON."),
):
    """Issue an API key. The key is printed once and stored only hashed."""
    model_list = models.split(",") if models else None
    if url:
        import requests

        token = os.environ.get("MLRANGE_ADMIN_TOKEN")
        if not token:
            raise typer.BadParameter("creating a key through --url needs MLRANGE_ADMIN_TOKEN")
        r = requests.post(url.rstrip("/") + "/admin/keys", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                          json={"budget": budget, "models": model_list, "policy": policy, "label": label})
        if r.status_code != 201:
            typer.echo(f"error {r.status_code}: {r.text}", err=True)
            raise typer.Exit(1)
        record = r.json()
    else:
        from budgets.ledger import open_ledger
        from victim_service.accounts import issue_key
        from victim_service.config import ServiceConfig
        from victim_service.keys import KeyStore
        from victim_service.store import ArtifactStore

        config = ServiceConfig(store=store, state=_state(store, state), ledger_url=ledger)
        st = ArtifactStore(store)
        cards = {m: st.card(m) for m in st.ids()}
        try:
            token, key = issue_key(KeyStore(config.keys_path), open_ledger(config.ledger_url), cards, budget,
                                   model_list, policy, label)
        except ValueError as e:
            raise typer.BadParameter(str(e)) from None
        record = {"key": token, **key.to_dict(), "budget": budget}
    typer.echo(json.dumps(record, indent=2) if as_json else record["key"])


@keys_app.command("list")
def keys_list(store: Path = STORE_OPT, state: Optional[Path] = typer.Option(None, help=STATE_HELP),
              ledger: Optional[str] = typer.Option(None, help="Ledger URL.")):
    """List keys (ids only, never secrets) with their usage."""
    from budgets.errors import UnknownAccount
    from budgets.ledger import open_ledger
    from victim_service.config import ServiceConfig
    from victim_service.keys import KeyStore

    config = ServiceConfig(store=store, state=_state(store, state), ledger_url=ledger)
    lg = open_ledger(config.ledger_url)
    for key in KeyStore(config.keys_path).list():
        try:
            u = lg.usage(key.id)
            usage = f"{u.used}/{u.budget}"
        except UnknownAccount:
            usage = "no account"
        typer.echo(f"{key.id}  used {usage:>12s}  models={','.join(key.models) if key.models else '*'}  "
                   f"policy={key.policy or '-'}{'  REVOKED' if key.revoked else ''}  {key.label}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, store: Path = STORE_OPT, state: Optional[Path] = typer.Option(None, help=STATE_HELP)):
    """Revoke a key by id."""
    from victim_service.config import ServiceConfig
    from victim_service.keys import KeyStore

    if not KeyStore(ServiceConfig(store=store, state=_state(store, state)).keys_path).revoke(key_id):
        typer.echo(f"no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@scenario_app.command("run")
def scenario_run(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Scenario YAML."),
    out: Optional[Path] = typer.Option(None, help="Report folder (default runs/<scenario name>)."),
    store: Optional[Path] = typer.Option(None, help="Artifact store for the scenario's victims (default: a per-scenario cache folder)."),
    threads: int = typer.Option(2, help="torch threads for the attacker (the service uses one per worker)."),
):
    """Build victims, start the service, run the attacks over HTTP, score and write a report."""
    from .runner import run_scenario
    from .spec import ScenarioError

    _torch_threads(threads)
    try:
        report = run_scenario(file, out, store)
    except ScenarioError as e:
        typer.echo(f"scenario error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"report: {report}")


@data_app.command("show")
def data_show(
    name: str = typer.Argument(..., help="Dataset name: digits, shapes, purchase, tweets (or folder/cifar10/csv with --param path=...)."),
    out: Path = typer.Option(..., help="PNG file to write."),
    param: list[str] = typer.Option([], help="Builder parameter key=value (repeatable), e.g. family=B."),
    n: int = typer.Option(64, help="Samples to draw."),
):
    """Write a PNG grid of samples (images) or feature histograms (tabular)."""
    from . import datasets
    from .datasets.show import render

    params = {}
    for p in param:
        k, _, v = p.partition("=")
        params[k] = _literal(v)
    ds = datasets.load(name, **params)
    render(ds, str(out), n=n)
    typer.echo(f"{name}: {len(ds.y)} samples, {ds.num_classes} classes, input {ds.input_spec['shape']} -> {out}")


def _literal(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(v.lower(), v)


def exit_on_sigterm() -> None:
    """SIGTERM (kill, timeout, CI cancelling) unwinds like Ctrl-C, so that context managers
    stop the service and close journals instead of the process vanishing mid-write."""
    import signal

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main() -> None:
    exit_on_sigterm()
    app()


if __name__ == "__main__":
    sys.exit(main())
