"""A random-extraction job run as its own process by test_resume.py (so it can be killed
with SIGKILL half-way). Writes the copy's predictions and the spend to --out."""

import argparse
import json

import torch

from attacker_sdk.attacks.random_extraction import RandomExtraction
from attacker_sdk.client import Client
from attacker_sdk.pool import Pool
from attacker_sdk.training import FitConfig, predict_proba
from tests.conftest import digits_arrays

ap = argparse.ArgumentParser()
ap.add_argument("--url")
ap.add_argument("--key")
ap.add_argument("--journal")
ap.add_argument("--out")
args = ap.parse_args()
torch.set_num_threads(1)  # determinism across runs: same thread count, same seeds
X, _ = digits_arrays()
client = Client(args.url, args.key, budget=400, batch_size=20, journal=args.journal)
attack = RandomExtraction(
    fit=FitConfig(epochs=15, batch_size=32, lr=0.01, optimizer="sgd", momentum=0.5),
    checkpoints=(100, 200, 300),
    seed=7,
)
res = attack.extract(client.classifier("digits-cnn"), Pool(X[600:1400]), 400, progress=False)
with open(args.out, "w") as f:
    json.dump(
        {
            "queries": res.queries,
            "queried": res.queried_indices.tolist(),
            "copy_probs": predict_proba(res.copy_model, X[1400:]).round(6).tolist(),
            "requests_sent": client.requests_sent,
            "spent": client.budget.spent,
            "resumed_answers": getattr(client, "resumed_answers", 0),
        },
        f,
    )
