"""Semi-supervised training on the attacker's unlabelled, never-queried data (MExMI's
semi-supervised boosting, sec. 3.3): :mod:`.mixmatch`."""

from .mixmatch import MixMatchConfig, mixmatch

__all__ = ["MixMatchConfig", "mixmatch"]
