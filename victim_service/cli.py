"""The service's commands: ``serve``, ``keys create|list|revoke``, ``victims list|serving``.

They are mounted into the one ``mlrange`` entry point by scenarios/cli.py, which owns the
rest (``scenario``, ``data``, ``victims build``). Imports stay inside the commands: the
command line must start fast, and torch alone costs seconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

keys_app = typer.Typer(help="Issue, list and revoke API keys.", no_args_is_help=True)

# Options shared by several commands (scenarios/cli.py uses Store too).
Store = Annotated[
    Path, typer.Option("--store", help="Artifact store folder (one subfolder per model).")
]
State = Annotated[
    Path | None,
    typer.Option(
        help="Service state folder (keys database, default SQLite ledger). "
        "Default: <store>/../state."
    ),
]
DEFAULT_STORE = Path("store")


def _state(store: Path, state: Path | None) -> Path:
    return state or Path(os.environ.get("MLRANGE_STATE") or store.parent / "state")


def _config(store: Path, state: Path | None, **kw):
    from .config import ServiceConfig

    return ServiceConfig(store=store, state=_state(store, state), **kw)


def victims_list(store: Store = DEFAULT_STORE):
    """List the models in a store with their cards' headline figures."""
    from .store import ArtifactStore

    st = ArtifactStore(store)
    for mid in st.ids():
        c = st.card(mid)
        typer.echo(
            f"{mid:16s} {c.architecture['name']:10s} classes={c.num_classes:<4d} "
            f"train={c.train_accuracy:.3f} test={c.test_accuracy:.3f} "
            f"policy={c.serving.policy} price={c.serving.price}"
        )


def victims_serving(
    model: Annotated[str, typer.Argument(help="Model id in the store.")],
    policy: Annotated[
        str | None,
        typer.Option(
            help="Default output policy of the model, e.g. top1 or round:2 (keys may override)."
        ),
    ] = None,
    price: Annotated[int | None, typer.Option(help="Price per query in budget units.")] = None,
    store: Store = DEFAULT_STORE,
):
    """Set how a model is offered: its default output policy and price (restart the service to apply)."""  # noqa: E501 - typer prints it as written
    from . import tasks
    from .store import ArtifactStore

    st = ArtifactStore(store)
    if model not in st:
        raise typer.BadParameter(f"no model {model!r} in {store}; known: {st.ids()}")
    if policy is not None:  # checked by the model's task, stored in canonical form
        try:
            policy = str(tasks.get(st.card(model).task).parse_policy(policy))
        except tasks.PolicyError as e:
            raise typer.BadParameter(str(e)) from None
    if price is not None and price < 1:
        raise typer.BadParameter("price must be >= 1")
    card = st.set_serving(model, policy, price)
    typer.echo(f"{model}: policy {card.serving.policy}, price {card.serving.price}")


def serve(
    store: Store = DEFAULT_STORE,
    state: State = None,
    host: Annotated[str, typer.Option(help="Bind address (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="gunicorn workers (one torch thread each).")] = 2,
    ledger: Annotated[
        str | None,
        typer.Option(help="sqlite:///PATH (default <state>/ledger.db) or redis://HOST:PORT/DB."),
    ] = None,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated model ids to host (default: all).")
    ] = None,
    max_batch: Annotated[int, typer.Option(help="Most inputs per request (more: 413).")] = 1024,
    rate_limit: Annotated[
        str | None, typer.Option(help="Per-key request rate on predict, e.g. '50/second'.")
    ] = None,
    worker_class: Annotated[
        str, typer.Option(help="gunicorn worker class (sync or gthread).")
    ] = "sync",
):
    """Serve the store's models under gunicorn. The admin token comes from MLRANGE_ADMIN_TOKEN."""
    from .config import ServiceConfig
    from .serve import exec_gunicorn, gunicorn_env

    config = ServiceConfig(
        store=store.resolve(),
        state=_state(store, state).resolve(),
        ledger_url=ledger,
        admin_token=os.environ.get("MLRANGE_ADMIN_TOKEN"),
        models=models.split(",") if models else None,
        max_batch=max_batch,
        rate_limit=rate_limit,
    )
    if not config.admin_token:
        typer.echo(
            "note: MLRANGE_ADMIN_TOKEN is not set, so /admin endpoints are off "
            "(use `mlrange keys create`)",
            err=True,
        )
    typer.echo(f"serving {store} on http://{host}:{port} with {workers} workers", err=True)
    exec_gunicorn(gunicorn_env(config, host, port, workers, worker_class))


@keys_app.command("create")
def keys_create(
    budget: Annotated[
        int,
        typer.Option(help="Query budget (units; one input costs the model's price, 1 by default)."),
    ],
    models: Annotated[
        str | None, typer.Option(help="Comma-separated model ids the key may use (default: all).")
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(help="Output policy override, e.g. top1, label, round:2, top1+round:2."),
    ] = None,
    label: Annotated[str, typer.Option(help="A note kept with the key.")] = "",
    url: Annotated[
        str | None,
        typer.Option(
            envvar="MLRANGE_URL",
            help="Create through a running service's admin API (needs MLRANGE_ADMIN_TOKEN).",
        ),
    ] = None,
    store: Store = DEFAULT_STORE,
    state: State = None,
    ledger: Annotated[
        str | None, typer.Option(help="Ledger URL (default sqlite:///<state>/ledger.db).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole record as JSON.")
    ] = False,
):
    """Issue an API key. The key is printed once and stored only hashed."""
    model_list = models.split(",") if models else None
    if url:
        from .admin_client import AdminClient, AdminError

        token = os.environ.get("MLRANGE_ADMIN_TOKEN")
        if not token:
            raise typer.BadParameter("creating a key through --url needs MLRANGE_ADMIN_TOKEN")
        try:
            with AdminClient(url, token) as admin:
                record = admin.create_key(budget, model_list, policy, label)
        except AdminError as e:
            typer.echo(f"error {e.status}: {e.detail}", err=True)
            raise typer.Exit(1) from None
    else:
        from budgets.ledger import open_ledger

        from .accounts import issue_key
        from .keys import KeyStore
        from .store import ArtifactStore

        config = _config(store, state, ledger_url=ledger)
        st = ArtifactStore(store)
        cards = {m: st.card(m) for m in st.ids()}
        try:
            token, key = issue_key(
                KeyStore(config.keys_path),
                open_ledger(config.ledger_url),
                cards,
                budget,
                model_list,
                policy,
                label,
            )
        except ValueError as e:
            raise typer.BadParameter(str(e)) from None
        record = {"key": token, **key.to_dict(), "budget": budget}
    typer.echo(json.dumps(record, indent=2) if as_json else record["key"])


@keys_app.command("list")
def keys_list(
    store: Store = DEFAULT_STORE,
    state: State = None,
    ledger: Annotated[str | None, typer.Option(help="Ledger URL.")] = None,
):
    """List keys (ids only, never secrets) with their usage."""
    from budgets.errors import UnknownAccount
    from budgets.ledger import open_ledger

    from .keys import KeyStore

    config = _config(store, state, ledger_url=ledger)
    lg = open_ledger(config.ledger_url)
    for key in KeyStore(config.keys_path).list():
        try:
            u = lg.usage(key.id)
            usage = f"{u.used}/{u.budget}"
        except UnknownAccount:
            usage = "no account"
        models = ",".join(key.models) if key.models else "*"
        typer.echo(
            f"{key.id}  used {usage:>12s}  models={models}  policy={key.policy or '-'}"
            f"{'  REVOKED' if key.revoked else ''}  {key.label}"
        )


@keys_app.command("revoke")
def keys_revoke(key_id: str, store: Store = DEFAULT_STORE, state: State = None):
    """Revoke a key by id."""
    from .keys import KeyStore

    if not KeyStore(_config(store, state).keys_path).revoke(key_id):
        typer.echo(f"no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")
