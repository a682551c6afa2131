"""``mlrange``: the one command line. ``mlrange --help`` and ``mlrange CMD --help`` on every
command.

The scenarios side owns ``scenario``, ``data`` and ``victims build``; the service's own
commands (``serve``, ``keys``, ``victims list|serving``) live in victim_service/cli.py and
are mounted here. Imports stay inside the commands so that ``--help`` starts fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from victim_service import cli as service_cli

app = typer.Typer(
    help="mlrange: attack and defend ML-as-a-service on one machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
victims_app = typer.Typer(help="Train and list victim models.", no_args_is_help=True)
scenario_app = typer.Typer(
    help="Run scenarios (both sides from one YAML file).", no_args_is_help=True
)
data_app = typer.Typer(help="Look at the built-in datasets.", no_args_is_help=True)
app.command("serve")(service_cli.serve)
app.add_typer(victims_app, name="victims")
app.add_typer(service_cli.keys_app, name="keys")
app.add_typer(scenario_app, name="scenario")
app.add_typer(data_app, name="data")


def _torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


@victims_app.command("build")
def victims_build(
    preset: Annotated[
        str, typer.Option(help="Preset of victims (scenarios/presets/<name>.yaml).")
    ] = "default",
    store: service_cli.Store = service_cli.DEFAULT_STORE,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Where membership ground truth goes (never read by the service). "
            "Default: <store>.truth"
        ),
    ] = None,
    only: Annotated[
        str | None, typer.Option(help="Comma-separated victim ids of the preset to build.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Retrain even when a matching entry exists.")] = False,
    threads: Annotated[int, typer.Option(help="torch threads for training.")] = 2,
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
        typer.echo(
            f"{c.id:14s} {'reused ' if built.reused else 'trained'} "
            f"train acc {c.train_accuracy:.3f}  test acc {c.test_accuracy:.3f}  "
            f"n={c.train_size}  ({c.training_seconds:.0f}s)"
        )
    typer.echo(f"store: {store}   ground truth: {truth_dir}")


victims_app.command("list")(service_cli.victims_list)
victims_app.command("serving")(service_cli.victims_serving)


@scenario_app.command("run")
def scenario_run(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Scenario YAML.")],
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default runs/<scenario name>).")
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            help="Artifact store for the scenario's victims (default: a per-scenario cache folder)."
        ),
    ] = None,
    threads: Annotated[
        int, typer.Option(help="torch threads for the attacker (the service uses one per worker).")
    ] = 2,
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
    name: Annotated[
        str,
        typer.Argument(
            help="Dataset name: digits, shapes, purchase, tweets "
            "(or folder/cifar10/csv with --param path=...)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="PNG file to write.")],
    param: Annotated[
        list[str] | None,
        typer.Option(help="Builder parameter key=value (repeatable), e.g. family=B."),
    ] = None,
    n: Annotated[int, typer.Option(help="Samples to draw.")] = 64,
):
    """Write a PNG grid of samples (images) or feature histograms (tabular)."""
    from . import datasets
    from .datasets.show import render

    params = {}
    for p in param or []:
        k, _, v = p.partition("=")
        params[k] = _literal(v)
    ds = datasets.load(name, **params)
    render(ds, str(out), n=n)
    typer.echo(
        f"{name}: {len(ds.y)} samples, {ds.num_classes} classes, "
        f"input {ds.input_spec['shape']} -> {out}"
    )


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
