"""The built-in checks, one subpackage per family, and the artifacts they share.

    integrity/    records, hygiene, chat, Great Expectations, instruction patterns, truncation,
                  lengths
    structured/   structured (JSON) output
    privacy/      personal data and secrets
    duplication/  exact, near and semantic duplicates, conflicts, eval leakage
    labels/       label issues, class balance
    bias/         group representation, disparities, associations, counterfactual probe
    diversity/    lexical and semantic diversity, task coverage, outliers
    language/     languages of the records, mixed scripts, token lengths
    overfitting/  overfitting risk from held-out probes
    advice/       fine-tune vs contextual input
    shared/       artifacts several families use (text, features, probe, MinHash, ...)

Importing this package registers every built-in check and artifact. ft-audit imports it
through the `ft_audit.checks` entry point, as it imports any plugin. Adding a check: write its
module in its family, add it to the family's `__init__`, and write its tests.
"""

from __future__ import annotations

from checks import (  # noqa: F401  (importing a family registers its checks)
    advice,
    bias,
    diversity,
    duplication,
    integrity,
    labels,
    language,
    overfitting,
    privacy,
    shared,
    structured,
)
from checks._moved import install as _install_moved

_install_moved()
