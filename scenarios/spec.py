"""The scenario file: one YAML that sets up both sides and says how to score them.

```yaml
name: demo
victims: [ {id, dataset, split, architecture, recipe, serving} ... ]  # scenarios.victims.VictimSpec
                                        # or {preset: default, only: [digits-cnn]}
service: {workers: 2}
tour: {victim: demo-digits}             # optional: answers under every output policy
attacks:
  - name: random-500                    # unique label in the report
    attack: random                      # attacker_sdk.attacks registry name
    victim: demo-digits
    budget: 500
    policy: probabilities               # the key's output policy (default: the model's own)
    params: {checkpoints: [100, 250]}   # the attack class's constructor parameters
    pool: [{part: spare}, {part: members, n: 200},
           {dataset: {name: shapes, params: {family: B}}, n: 1000}]
    targets: {members: 200, non_members: 200}    # membership attacks: records to classify
    aux: [{part: spare, n: 600}]                 # membership attacks: attacker's labelled data
    seeds: [0, 1, 2]
grids:                                  # optional: a table of attacks, rows x columns
  - table: table2
    base: {attack: mexmi, victim: v, budget: 4000, pool: [...]}
    rows: {baseline: {params: {pre_filter: false}}, mexmi: {params: {}},
           random: {attack: random, independent: true}}   # runs once, no column settings
    columns: {entropy: {params: {strategy: entropy}}, kcenter: {params: {strategy: kcenter}}}
    metric: fidelity
store: mexmi-shapes   # optional: victim cache shared with other scenarios (default: name)
```
Pool sources draw disjoint rows: ``part`` is a split of a victim's dataset (``members``,
``test``, ``spare``; ``test`` is the evaluation set of extraction and should stay out of
pools), or ``dataset`` names another dataset (e.g. an out-of-distribution family).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from attacker_sdk import attacks as attack_registry

from .victims import VictimSpec

PARTS = ("members", "test", "spare", "non_members")


class ScenarioError(ValueError):
    """A scenario file that does not make sense, said before anything is trained."""


@dataclass
class SourceSpec:
    part: str | None = None  # of the attack's victim dataset
    dataset: dict | None = None  # {"name", "params"}: another dataset, all non-members
    n: int | None = None  # rows to draw (default: all that are left)
    victim: str | None = None  # whose dataset `part` refers to (default: the attack's victim)
    reference: bool = (
        False  # the attacker knows these rows are non-members (unsupervised MI calibration)
    )

    @classmethod
    def from_dict(cls, d: dict) -> SourceSpec:
        unknown = set(d) - {"part", "dataset", "n", "victim", "reference"}
        if unknown:
            raise ScenarioError(f"pool source: unknown fields {sorted(unknown)}")
        s = cls(**d)
        if (s.part is None) == (s.dataset is None):
            raise ScenarioError(f"pool source {d}: give exactly one of 'part' or 'dataset'")
        if s.reference and s.part == "members":
            raise ScenarioError("a 'reference' source must hold known non-members, not members")
        if s.part is not None and s.part not in PARTS:
            raise ScenarioError(f"pool source part {s.part!r}: use one of {PARTS}")
        if isinstance(s.dataset, str):
            s.dataset = {"name": s.dataset}
        return s

    def label(self) -> str:
        return self.part if self.part else f"{self.dataset['name']}{self.dataset.get('params', {})}"


@dataclass
class AttackSpec:
    name: str
    attack: str
    victim: str
    budget: int
    policy: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    pool: list[SourceSpec] = field(default_factory=list)
    targets: dict[str, int] = field(default_factory=dict)
    aux: list[SourceSpec] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [0])
    table: str | None = None
    row: str | None = None
    column: str | None = None

    @property
    def kind(self) -> str:
        return attack_registry.kind(self.attack)


@dataclass
class GridSpec:
    table: str
    metric: str
    rows: list[str]
    columns: list[str]
    title: str = ""


@dataclass
class ScenarioSpec:
    name: str
    description: str
    victims: list[VictimSpec]
    attacks: list[AttackSpec]
    grids: list[GridSpec]
    service: dict[str, Any]
    tour: dict[str, Any] | None
    path: Path | None = None
    store: str | None = (
        None  # victim cache shared by scenarios naming the same store (default: the name)
    )

    def victim(self, vid: str) -> VictimSpec:
        for v in self.victims:
            if v.id == vid:
                return v
        raise ScenarioError(f"no victim {vid!r}; declared: {[v.id for v in self.victims]}")


def _merge(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in (b or {}).items():
        out[k] = (
            _merge(out[k], v)
            if isinstance(v, dict) and isinstance(out.get(k), dict)
            else copy.deepcopy(v)
        )
    return out


def _attack(d: dict) -> AttackSpec:
    d = dict(d)
    known = {
        "name",
        "attack",
        "victim",
        "budget",
        "policy",
        "params",
        "pool",
        "targets",
        "aux",
        "seeds",
        "table",
        "row",
        "column",
    }
    unknown = set(d) - known
    if unknown:
        raise ScenarioError(f"attack {d.get('name')!r}: unknown fields {sorted(unknown)}")
    for req in ("name", "attack", "victim", "budget"):
        if req not in d:
            raise ScenarioError(f"attack {d.get('name')!r}: '{req}' is required")
    if d["attack"] not in attack_registry.available():
        raise ScenarioError(
            f"attack {d['name']!r}: unknown attack {d['attack']!r}; "
            f"known: {attack_registry.available()}"
        )
    d["pool"] = [SourceSpec.from_dict(s) for s in d.get("pool", [])]
    d["aux"] = [SourceSpec.from_dict(s) for s in d.get("aux", [])]
    spec = AttackSpec(**d)
    try:  # parameters checked now, not after an hour of training
        attack_registry.build(spec.attack, spec.params)
    except (TypeError, ValueError) as e:
        raise ScenarioError(f"attack {spec.name!r}: {e}") from None
    if spec.kind == "extraction" and not spec.pool:
        raise ScenarioError(f"attack {spec.name!r}: an extraction attack needs a 'pool'")
    if spec.kind == "membership" and not spec.targets:
        raise ScenarioError(
            f"attack {spec.name!r}: a membership attack needs 'targets' (members, non_members)"
        )
    return spec


def load(path: str | Path) -> ScenarioSpec:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ScenarioError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: expected a mapping at the top")
    unknown = set(raw) - {
        "name",
        "description",
        "victims",
        "attacks",
        "grids",
        "service",
        "tour",
        "store",
    }
    if unknown:
        raise ScenarioError(f"{path}: unknown sections {sorted(unknown)}")
    victims = []
    for v in raw.get("victims", []):
        if "preset" in v:  # {preset: default, only: [digits-cnn]}: victims of a preset, unchanged
            from .victims import load_preset

            wanted = v.get("only")
            victims += [p for p in load_preset(v["preset"]) if wanted is None or p.id in wanted]
        else:
            victims.append(VictimSpec.from_dict(v))
    attacks = [_attack(a) for a in raw.get("attacks", [])]
    grids = []
    for g in raw.get("grids", []):
        rows, cols = g.get("rows", {}), g.get("columns", {"": {}})
        for r, rspec in rows.items():
            rspec = dict(rspec or {})
            # a row that does not depend on the column (e.g. random sampling) runs once, without
            # any column's settings, and is reported under the first column
            independent = bool(rspec.pop("independent", False))
            for i, (c, cspec) in enumerate(cols.items()):
                if independent and i > 0:
                    continue
                if independent:
                    cspec = {}
                merged = _merge(_merge(g.get("base", {}), rspec or {}), cspec or {})
                merged.setdefault("name", f"{g['table']}/{r}/{c}" if c else f"{g['table']}/{r}")
                merged.update(table=g["table"], row=r, column=c)
                attacks.append(_attack(merged))
        grids.append(
            GridSpec(
                g["table"], g.get("metric", "fidelity"), list(rows), list(cols), g.get("title", "")
            )
        )
    spec = ScenarioSpec(
        name=raw.get("name", path.stem),
        description=raw.get("description", ""),
        victims=victims,
        attacks=attacks,
        grids=grids,
        service=raw.get("service", {}),
        tour=raw.get("tour"),
        path=path,
        store=raw.get("store"),
    )
    names = [a.name for a in spec.attacks]
    if len(names) != len(set(names)):
        raise ScenarioError(
            f"attack names must be unique; "
            f"repeated: {sorted({n for n in names if names.count(n) > 1})}"
        )
    for a in spec.attacks:
        spec.victim(a.victim)
    if spec.tour:
        spec.victim(spec.tour["victim"])
    return spec
