"""budgets is standard library only and imports no other package of the project."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _loaded_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter and return the modules it then prints, one a line."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_budgets_imports_nothing_forbidden():
    code = (
        "import sys, budgets, budgets.ledger.base, budgets.ledger.sqlite, budgets.tracker\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'flask', 'numpy', 'redis', 'victim_service', 'attacker_sdk', 'scenarios'})\n"
        "print('\\n'.join(bad))\n"
    )
    assert _loaded_after(code) == []


def test_opening_a_sqlite_ledger_imports_no_other_backend():
    code = (
        "import sys, budgets\n"
        "budgets.open_ledger('sqlite://').close()\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('budgets.ledger.'))))\n"
    )
    assert _loaded_after(code) == [
        "budgets.ledger.base",
        "budgets.ledger.registry",
        "budgets.ledger.sqlite",
    ]
