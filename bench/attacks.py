"""Attack benchmark: ours vs IBM's Adversarial Robustness Toolbox (ART) in one run, on the
same victim, pool and budget, every query over HTTP through the real service.

- extraction (digits small CNN victim, 500 queries): our RandomExtraction vs ART's
  KnockoffNets (random sampling) and CopycatCNN, with the same copy architecture and
  training recipe;
- membership inference (the MICO MLP on Purchase-like data, 250 members + 250 non-members,
  the same 5,000 auxiliary records): our metric (modified entropy) and Shokri shadow
  attacks vs ART's MembershipInferenceBlackBox fed by ART's ShadowModels.

For each: fidelity or AUC / TPR@1%FPR, the queries the service actually charged, and wall
time. ART sees the victim through a BlackBoxClassifier whose predict function posts to the
same API (no cache: ART has none), so "queries" is what each library really bought.

    python bench/attacks.py [--seeds 0 1 2]      # writes bench/results/attacks.json
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "2")

import torch

from attacker_sdk import metrics, models
from attacker_sdk.attacks import build
from attacker_sdk.client import Client
from attacker_sdk.pool import Pool
from attacker_sdk.training import FitConfig, predict_proba
from scenarios.victims import VictimSpec, build_victim, default_truth_dir
from victim_service.admin_client import AdminClient
from victim_service.config import ServiceConfig
from victim_service.serve import ServiceProcess
from victim_service.store import ArtifactStore

EXTRACT_VICTIM = {
    "id": "bench-digits",
    "dataset": {"name": "digits"},
    "split": {"train": 900, "test": 450, "seed": 0},
    "architecture": "small_cnn",
    "recipe": {"epochs": 40, "batch_size": 64},
}
# Purchase-100-like with the MICO MLP: the classic membership-inference target (digits
# CNNs generalise too well to leak: 98% test accuracy, AUC near 0.55 for every attack).
MI_VICTIM = {
    "id": "bench-purchase",
    "dataset": {"name": "purchase", "params": {"n": 20000}},
    "split": {"train": 2500, "test": 2500, "seed": 1},
    "architecture": "mico_mlp",
    "recipe": {"epochs": 30, "batch_size": 128, "lr": 0.001},
}
MI_TARGETS = 250  # members and as many non-members
BUDGET = 500
FIT = FitConfig(epochs=30, batch_size=64, lr=1e-3, optimizer="adam")


class HttpVictim:
    """ART's view of the victim: a predict function over HTTP, counting what it sends."""

    def __init__(self, url: str, key: str, model: str):
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {key}"
        self.url, self.model, self.sent = url, model, 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = []
        for i in range(0, len(x), 256):
            buf = io.BytesIO()
            np.save(buf, np.asarray(x[i : i + 256], np.float32))
            r = self.s.post(
                f"{self.url}/v1/models/{self.model}/predict",
                json={"inputs_b64": base64.b64encode(buf.getvalue()).decode()},
                timeout=120,
            )
            r.raise_for_status()
            out.append(np.asarray(r.json()["probabilities"], np.float32))
            self.sent += len(x[i : i + 256])
        return np.concatenate(out)


def art_thief(shape, k):
    from art.estimators.classification import PyTorchClassifier

    net = models.build(models.default_for(shape), shape, k)  # the same zoo our attacks use
    return PyTorchClassifier(
        model=net,
        loss=torch.nn.CrossEntropyLoss(),
        optimizer=torch.optim.Adam(net.parameters(), lr=FIT.lr),
        input_shape=tuple(shape),
        nb_classes=k,
        clip_values=(0.0, 1.0),
    )


def new_key(url, admin, budget, model):
    with AdminClient(url, admin) as client:
        return client.create_key(budget, models=[model])["key"]


def used(url, key):
    return requests.get(
        url + "/v1/usage", headers={"Authorization": f"Bearer {key}"}, timeout=30
    ).json()["used"]


def bench_extraction(url, admin, victim, pool_x, x_eval, v_eval, seed) -> dict:
    from art.attacks.extraction import CopycatCNN, KnockoffNets
    from art.estimators.classification import BlackBoxClassifier

    shape, k = victim.dataset.input_spec["shape"], victim.card.num_classes
    fid = lambda m: metrics.fidelity(predict_proba(m, x_eval).argmax(1), v_eval)
    out = {}
    torch.manual_seed(seed)
    key = new_key(url, admin, BUDGET, victim.spec.id)
    t0 = time.perf_counter()
    client = Client(url, key, budget=BUDGET)
    res = build("random", {"fit": FIT.to_dict() | {"seed": seed}, "seed": seed}).extract(
        client.classifier(victim.spec.id), Pool(pool_x), BUDGET, progress=False
    )
    out["ours_random"] = {
        "fidelity": fid(res.copy_model),
        "queries_charged": used(url, key),
        "seconds": time.perf_counter() - t0,
    }
    for name in ("art_knockoff_random", "art_copycat"):
        torch.manual_seed(seed)
        np.random.seed(seed)
        key = new_key(
            url, admin, 10 * BUDGET, victim.spec.id
        )  # ART has no budget guard; we measure what it spends
        hv = HttpVictim(url, key, victim.spec.id)
        bb = BlackBoxClassifier(hv, tuple(shape), k, clip_values=(0.0, 1.0))
        thief = art_thief(shape, k)
        t0 = time.perf_counter()
        if name == "art_knockoff_random":
            atk = KnockoffNets(
                bb,
                batch_size_fit=FIT.batch_size,
                batch_size_query=256,
                nb_epochs=FIT.epochs,
                nb_stolen=BUDGET,
                sampling_strategy="random",
                use_probability=True,
                verbose=False,
            )
        else:
            atk = CopycatCNN(
                bb,
                batch_size_fit=FIT.batch_size,
                batch_size_query=256,
                nb_epochs=FIT.epochs,
                nb_stolen=BUDGET,
                use_probability=False,
            )  # Copycat trains on labels
        stolen = atk.extract(pool_x, thieved_classifier=thief)
        out[name] = {
            "fidelity": metrics.fidelity(stolen.predict(x_eval).argmax(1), v_eval),
            "queries_charged": used(url, key),
            "queries_sent": hv.sent,
            "seconds": time.perf_counter() - t0,
        }
    return out


def bench_membership(url, admin, victim, targets, is_member, aux, seed) -> dict:
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox, ShadowModels
    from art.estimators.classification import BlackBoxClassifier

    shape, k = victim.dataset.input_spec["shape"], victim.card.num_classes
    out = {}
    for name, params in (
        ("ours_metric_mentropy", {"metric": "mentropy"}),
        ("ours_shokri", {"n_shadows": 3}),
    ):
        key = new_key(url, admin, len(targets[0]), victim.spec.id)
        client = Client(url, key, budget=len(targets[0]))
        t0 = time.perf_counter()
        attack = build("metric" if "metric" in name else "shokri", params | {"seed": seed})
        res = attack.infer(
            client.classifier(victim.spec.id),
            Pool(*targets),
            Pool(*aux),
            len(targets[0]),
            progress=False,
        )
        out[name] = {
            "auc": metrics.auc(is_member, res.scores),
            "tpr_at_1pct_fpr": metrics.tpr_at_fpr(is_member, res.scores, 0.01),
            "queries_charged": used(url, key),
            "seconds": time.perf_counter() - t0,
        }
    key = new_key(url, admin, 10 * len(targets[0]), victim.spec.id)
    hv = HttpVictim(url, key, victim.spec.id)
    bb = BlackBoxClassifier(hv, tuple(shape), k, clip_values=(0.0, 1.0))
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    template = art_thief(shape, k)
    shadows = ShadowModels(template, num_shadow_models=3, random_state=seed)
    onehot = np.eye(k, dtype=np.float32)[aux[1]]
    (mx, my, mp), (nx, ny, npred) = shadows.generate_shadow_dataset(aux[0], onehot)
    mia = MembershipInferenceBlackBox(bb, attack_model_type="nn")
    mia.fit(mx, my, nx, ny, mp, npred)
    scores = mia.infer(
        targets[0], np.eye(k, dtype=np.float32)[targets[1]], probabilities=True
    ).reshape(-1)
    out["art_mia_blackbox_shadow"] = {
        "auc": metrics.auc(is_member, scores),
        "tpr_at_1pct_fpr": metrics.tpr_at_fpr(is_member, scores, 0.01),
        "queries_charged": used(url, key),
        "queries_sent": hv.sent,
        "seconds": time.perf_counter() - t0,
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    torch.set_num_threads(2)
    root = Path(tempfile.mkdtemp(prefix="mlrange-bench-attacks-"))
    store = ArtifactStore(root / "store")
    built = {
        v["id"]: build_victim(
            VictimSpec.from_dict(v), store, default_truth_dir(root / "store"), progress=False
        )
        for v in (EXTRACT_VICTIM, MI_VICTIM)
    }
    admin = secrets.token_urlsafe(16)
    runs = []
    cfg = ServiceConfig(store=root / "store", state=root / "state", admin_token=admin)
    with ServiceProcess(cfg, workers=2, log_path=root / "svc.log") as svc:
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            ev = built[EXTRACT_VICTIM["id"]]
            # the attacker's pool: every digit but the victim's test split (the evaluation set)
            pool_x = ev.dataset.x[
                rng.permutation(np.setdiff1d(np.arange(len(ev.dataset.y)), ev.truth.test))
            ]
            x_eval = ev.dataset.x[ev.truth.test]
            v_eval = store.load(ev.spec.id).predict_proba(x_eval).argmax(1)
            row = {
                "seed": seed,
                "extraction": bench_extraction(svc.url, admin, ev, pool_x, x_eval, v_eval, seed),
            }
            mv = built[MI_VICTIM["id"]]
            mem = rng.choice(mv.truth.members, MI_TARGETS, replace=False)
            rest = rng.permutation(mv.truth.non_members)
            non, aux_idx = rest[:MI_TARGETS], rest[MI_TARGETS : MI_TARGETS + 5000]
            tidx = rng.permutation(np.concatenate([mem, non]))
            d = mv.dataset
            row["membership"] = bench_membership(
                svc.url,
                admin,
                mv,
                (d.x[tidx], d.y[tidx]),
                np.isin(tidx, mem),
                (d.x[aux_idx], d.y[aux_idx]),
                seed,
            )
            runs.append(row)
            print(json.dumps(row, indent=1, default=float))

    def agg(section, method, field):
        vals = [r[section][method][field] for r in runs if field in r[section][method]]
        return (
            {
                "mean": statistics.fmean(vals),
                "std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
            }
            if vals
            else None
        )

    summary = {}
    for section in ("extraction", "membership"):
        for method in runs[0][section]:
            summary[f"{section}/{method}"] = {
                f: agg(section, method, f) for f in runs[0][section][method]
            }
    ours_e, art_e = summary["extraction/ours_random"], summary["extraction/art_knockoff_random"]
    results = {
        "benchmark": "attacks",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python bench/attacks.py " + " ".join(sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "setup": {
            "extraction_victim": EXTRACT_VICTIM,
            "mi_victim": MI_VICTIM,
            "budget": BUDGET,
            "fit": FIT.to_dict(),
            "victim_test_accuracy": {k: v.card.test_accuracy for k, v in built.items()},
            "victim_train_accuracy": {k: v.card.train_accuracy for k, v in built.items()},
        },
        "summary": summary,
        "ratios": {
            "extraction_time_ours_over_art_knockoff": ours_e["seconds"]["mean"]
            / art_e["seconds"]["mean"],
            "extraction_fidelity_ours_minus_art_knockoff": ours_e["fidelity"]["mean"]
            - art_e["fidelity"]["mean"],
        },
        "runs": runs,
    }
    out = ROOT / "bench" / "results" / "attacks.json"
    out.write_text(json.dumps(results, indent=2, default=float))
    print(json.dumps(summary, indent=1, default=float))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
