"""budgets is standard library only and imports no other package of the project."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_budgets_imports_nothing_forbidden():
    code = (
        "import sys, budgets, budgets.ledger.sqlite, budgets.tracker\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'flask', 'numpy', 'redis', 'victim_service', 'attacker_sdk', 'scenarios'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
