"""A tour of the output policies: the same inputs answered under every policy, through
the SDK over HTTP, each under its own key, with each key's usage afterwards."""

from __future__ import annotations

import numpy as np

from attacker_sdk.client import Client
from victim_service.admin_client import AdminClient

POLICIES = ("probabilities", "round:2", "topk:3", "top1", "label", "noise:0.05", "top1+round:2")


def _fmt(a, i: int, names) -> str:
    if a.probabilities is not None:
        p = a.probabilities[i]
        best = np.argsort(-p)[:3]
        return (
            "probs " + ", ".join(f"{names[j]}:{p[j]:.3g}" for j in best) + f" (+{len(p) - 3} more)"
        )
    if a.top_labels is not None:
        return "top " + ", ".join(
            f"{names[l]}:{s:.3g}" for l, s in zip(a.top_labels[i], a.top_scores[i])
        )
    return f"label {names[a.labels[i]]}"


def policy_tour(
    url: str, admin_token: str, model_id: str, x: np.ndarray, y: np.ndarray, policies=POLICIES
) -> dict:
    rows = []
    with AdminClient(url, admin_token) as admin:
        for policy in policies:
            key = admin.create_key(
                len(x), models=[model_id], policy=policy, label=f"tour {policy}"
            )["key"]
            with Client(url, key) as client:
                info = client.model(model_id)
                a = client.predict(model_id, x)
                usage = client.usage()
            rows.append(
                {
                    "policy": policy,
                    "reveals": info.policy.reveals,
                    "answers": [_fmt(a, i, info.class_names) for i in range(len(x))],
                    "usage": {k: usage[k] for k in ("used", "budget", "remaining")},
                }
            )
    return {"model": model_id, "true_labels": [int(v) for v in y], "rows": rows}


def tour_markdown(tour: dict) -> str:
    n = len(tour["true_labels"])
    head = (
        "| policy | reveals | "
        + " | ".join(f"input {i} (true {t})" for i, t in enumerate(tour["true_labels"]))
        + " | key usage |\n|"
        + "---|" * (n + 3)
        + "\n"
    )
    body = "".join(
        f"| `{r['policy']}` | {r['reveals']} | "
        + " | ".join(r["answers"])
        + f" | {r['usage']['used']}/{r['usage']['budget']} |\n"
        for r in tour["rows"]
    )
    return head + body
