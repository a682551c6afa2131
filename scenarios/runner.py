"""``mlrange scenario run FILE``: build (or reuse) the victims, start the real service under
gunicorn on a free loopback port, issue one key per attack run, run every attack through
the SDK over HTTP, score it with ground truth only the runner holds, and write a report.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from attacker_sdk import attacks as attack_registry
from attacker_sdk.client import Client
from attacker_sdk.errors import PolicyUnsupported
from attacker_sdk.pool import Pool
from victim_service.admin_client import AdminClient
from victim_service.config import ServiceConfig
from victim_service.serve import ServiceProcess
from victim_service.store import ArtifactStore

from .evaluation import ExtractionJudge, count_by_source, score_inferred_set, score_membership
from .pools import Allocator
from .report import write_report
from .spec import AttackSpec, ScenarioSpec, SourceSpec, load
from .tour import policy_tour
from .victims import BuiltVictim, build_victim, default_truth_dir


def cache_root() -> Path:
    return Path(os.environ.get("MLRANGE_CACHE") or Path.home() / ".cache" / "mlrange")


@dataclass
class RunRecord:
    """One attack run (one seed): what was asked, what it cost, how it scored."""

    name: str
    attack: str
    kind: str
    victim: str
    seed: int
    policy: str
    budget: int
    status: str = "ok"  # ok | refused
    reason: str = ""
    queries: int = 0
    server_used: int | None = None
    seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    timeline: list[dict] = field(default_factory=list)
    spend_by_phase: dict[str, int] = field(default_factory=dict)
    artefacts: dict[str, Any] = field(default_factory=dict)
    roc: tuple | None = None
    table: str | None = None
    row: str | None = None
    column: str | None = None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:80]


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, (np.integer, np.floating)):
            v = v.item()
        if isinstance(v, (str, int, float, bool, type(None), list, dict)):
            out[k] = v
    return out


class ScenarioRunner:
    def __init__(
        self, spec: ScenarioSpec, out: Path, store: Path | None = None, progress: bool = True
    ):
        self.spec, self.out, self.progress = spec, out, progress
        self.store_dir = store or cache_root() / "scenario-stores" / _slug(spec.store or spec.name)
        self.store = ArtifactStore(self.store_dir)
        self.admin = secrets.token_urlsafe(24)
        self.victims: dict[str, BuiltVictim] = {}
        self.records: list[RunRecord] = []
        self.tour: dict | None = None

    def log(self, msg: str) -> None:
        if self.progress:
            print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def build_victims(self) -> None:
        truth = default_truth_dir(self.store_dir)
        for v in self.spec.victims:
            t0 = time.perf_counter()
            built = build_victim(v, self.store, truth, progress=self.progress)
            self.victims[v.id] = built
            self.log(
                f"victim {v.id}: {'reused' if built.reused else 'trained'} "
                f"(train acc {built.card.train_accuracy:.3f}, "
                f"test acc {built.card.test_accuracy:.3f}, "
                f"{time.perf_counter() - t0:.0f}s)"
            )

    def run(self) -> Path:
        t0 = time.perf_counter()
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in ("service-state", "journals"):
            shutil.rmtree(self.out / stale, ignore_errors=True)
        self.build_victims()
        config = ServiceConfig(
            store=self.store_dir,
            state=self.out / "service-state",
            admin_token=self.admin,
            models=[v.id for v in self.spec.victims],
        )
        workers = int(self.spec.service.get("workers", 2))
        with ServiceProcess(config, workers=workers, log_path=self.out / "service.log") as svc:
            self.log(f"service up at {svc.url} ({workers} gunicorn workers)")
            if self.spec.tour:
                self.run_tour(svc.url)
            for a in self.spec.attacks:
                for seed in a.seeds:
                    self.records.append(self.run_attack(svc.url, a, seed))
        report = write_report(self, wall_seconds=time.perf_counter() - t0)
        self.log(f"report written to {report}")
        return report

    def run_tour(self, url: str) -> None:
        v = self.victims[self.spec.tour["victim"]]
        n = int(self.spec.tour.get("inputs", 3))
        rows = v.truth.test[:n]
        self.tour = policy_tour(url, self.admin, v.spec.id, v.dataset.x[rows], v.dataset.y[rows])
        self.log(f"policy tour on {v.spec.id}: {len(self.tour['rows'])} policies")

    def _issue_key(self, url: str, a: AttackSpec) -> str:
        with AdminClient(url, self.admin) as admin:
            return admin.create_key(
                a.budget, models=[a.victim], policy=a.policy or None, label=a.name
            )["key"]

    def run_attack(self, url: str, a: AttackSpec, seed: int) -> RunRecord:
        victim = self.victims[a.victim]
        key = self._issue_key(url, a)
        journal = self.out / "journals" / f"{_slug(a.name)}-seed{seed}.db"
        client = Client(url, key, budget=a.budget, journal=journal)
        remote = client.classifier(a.victim)
        params = dict(a.params)
        if "seed" in {f.name for f in dataclasses.fields(attack_registry.attack_class(a.attack))}:
            params.setdefault("seed", seed)
        attack = attack_registry.build(a.attack, params)
        rec = RunRecord(
            a.name,
            a.attack,
            a.kind,
            a.victim,
            seed,
            remote.info.policy.policy,
            a.budget,
            table=a.table,
            row=a.row,
            column=a.column,
        )
        alloc = Allocator(self.victims, seed)
        self.log(f"attack {a.name} (seed {seed}, policy {rec.policy}, budget {a.budget})")
        try:
            if a.kind == "extraction":
                self._extraction(a, attack, remote, victim, alloc, rec)
            else:
                self._membership(a, attack, remote, alloc, rec)
        except PolicyUnsupported as e:
            rec.status, rec.reason = "refused", str(e)
            self.log(f"  refused: {e}")
        rec.server_used = client.usage()["used"]
        client.close()
        return rec

    @staticmethod
    def _record(rec: RunRecord, res) -> None:
        """What every attack result gives the record: spend, time, timeline, artefacts."""
        rec.queries, rec.seconds, rec.spend_by_phase = res.queries, res.seconds, res.spend_by_phase
        rec.timeline = [row.to_dict() for row in res.timeline]
        rec.artefacts = _jsonable(res.artefacts)

    def _extraction(
        self, a, attack, remote, victim: BuiltVictim, alloc: Allocator, rec: RunRecord
    ) -> None:
        if any(
            s.part in ("test", "non_members") and (s.victim in (None, a.victim)) for s in a.pool
        ):
            raise ValueError(
                f"attack {a.name}: the victim's test split is the evaluation set; "
                "keep it out of the pool"
            )
        composed = alloc.compose(a.pool, a.victim)
        # the attacker's view: no labels, no membership, only the rows it knows to be non-members
        pool = Pool(composed.x, name=f"{a.name}-pool", reference=composed.reference)
        test = victim.truth.test
        judge = ExtractionJudge(
            self.store.load(a.victim), victim.dataset.x[test], victim.dataset.y[test]
        )
        res = attack.extract(remote, pool, a.budget, on_checkpoint=judge, progress=self.progress)
        self._record(rec, res)
        rec.metrics = {
            **judge(res.copy_model),
            "victim_accuracy": judge.victim_accuracy,
            "pool_size": len(pool),
            "pool_member_fraction": float(composed.is_member.mean()),
            "queried_member_fraction": float(composed.is_member[res.queried_indices].mean())
            if len(res.queried_indices)
            else 0.0,
            "queried_by_source": count_by_source(composed.source, res.queried_indices),
        }
        if res.membership is not None:
            inferred = np.asarray(res.membership.members, bool)
            rec.metrics["inferred_set"] = {
                **score_inferred_set(composed.is_member, inferred),
                "by_source": count_by_source(composed.source, np.flatnonzero(inferred)),
            }
        self.log(
            f"  fidelity {rec.metrics['fidelity']:.4f}  accuracy {rec.metrics['accuracy']:.4f}  "
            f"queries {rec.queries}  ({rec.seconds:.0f}s)"
        )

    def _membership(self, a, attack, remote, alloc: Allocator, rec: RunRecord) -> None:
        targets = alloc.targets(a.targets, a.victim)
        aux = alloc.compose(a.aux or [SourceSpec(part="spare")], a.victim)
        if aux.is_member.any():
            raise ValueError(
                f"attack {a.name}: aux data holds victim members; draw it from non-member parts"
            )
        res = attack.infer(
            remote, Pool(targets.x, targets.y), Pool(aux.x, aux.y), a.budget, progress=self.progress
        )
        self._record(rec, res)
        rec.metrics, rec.roc = score_membership(targets.is_member, res.scores, res.predictions)
        self.log(
            f"  AUC {rec.metrics['auc']:.3f}  TPR@1%FPR {rec.metrics['tpr_at_fpr']['0.01']:.3f}  "
            f"queries {rec.queries}  ({rec.seconds:.0f}s)"
        )


def run_scenario(
    path: str | Path,
    out: str | Path | None = None,
    store: str | Path | None = None,
    progress: bool = True,
) -> Path:
    spec = load(path)
    runner = ScenarioRunner(
        spec, Path(out or Path("runs") / _slug(spec.name)), Path(store) if store else None, progress
    )
    return runner.run()
