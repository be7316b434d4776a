"""Privacy: personal data and secrets in the records.
"""

from __future__ import annotations

from checks.privacy.pii import Pii

__all__ = ["Pii"]
