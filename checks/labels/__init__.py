"""Labels: likely label errors (confident learning on out-of-fold probe predictions) and class
balance.
"""

from __future__ import annotations

from checks.labels.class_balance import ClassBalance
from checks.labels.label_issues import LabelIssuesCheck

__all__ = ["ClassBalance", "LabelIssuesCheck"]
