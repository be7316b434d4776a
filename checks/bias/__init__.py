"""Bias: which demographic groups the data mentions, with which labels, sentiment and
associations, and whether a model trained on it changes its answer when only a group term
changes. Group lexicons live in `lexicons/` (see its README).
"""

from __future__ import annotations

from checks.bias.counterfactual import CounterfactualProbe
from checks.bias.groups import (
    GroupLabelDisparity,
    GroupRepresentation,
    GroupSentimentDisparity,
    StereotypeAssociation,
)

__all__ = [
    "CounterfactualProbe",
    "GroupLabelDisparity",
    "GroupRepresentation",
    "GroupSentimentDisparity",
    "StereotypeAssociation",
]
