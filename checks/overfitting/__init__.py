"""Overfitting risk: held-out probes on a small model the tool trains itself.
"""

from __future__ import annotations

from checks.overfitting.risk import OverfittingRisk

__all__ = ["OverfittingRisk"]
