"""Privacy: personal data and secrets in the records.
"""

from __future__ import annotations

from checks.privacy.masking import MASKABLE_TYPES, PLACEHOLDERS, Masked, mask_pii, pii_spans
from checks.privacy.pii import Pii

__all__ = ["MASKABLE_TYPES", "PLACEHOLDERS", "Masked", "Pii", "mask_pii", "pii_spans"]
