"""The server-side ledger: the truth about what every account has spent.

- :mod:`budgets.ledger.base`: the interface (:class:`Ledger`) and its value
  types (:class:`Usage`, :class:`Charge`);
- :mod:`budgets.ledger.registry`: backends by URL scheme and :func:`open_ledger`;
- one module per backend (``budgets.ledger.sqlite``; ``redis`` is a later issue).
"""

from budgets.ledger.base import Charge, Ledger, Usage, build_usage
from budgets.ledger.registry import open_ledger, register_backend

__all__ = ["Charge", "Ledger", "Usage", "build_usage", "open_ledger", "register_backend"]
