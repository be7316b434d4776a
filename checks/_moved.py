"""Old module paths of the built-in checks (before the families), kept importable for a while.

`import checks.label_noise` still works: it gives the module's new home
(`checks.labels.label_issues`) and a DeprecationWarning naming it. `checks.duplication`,
`checks.bias`, `checks.diversity` and `checks.overfitting` are now the family packages, which
export the same check classes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any

MOVED = {
    "checks._embeddings": "checks.shared.embeddings",
    "checks._features": "checks.shared.features",
    "checks._finetune": "checks.shared.finetune",
    "checks._groups": "checks.bias._mentions",
    "checks._json_shapes": "checks.structured._json_shapes",
    "checks._minhash": "checks.shared.minhash",
    "checks._neardup": "checks.duplication._neardup",
    "checks._neighbours": "checks.shared.neighbours",
    "checks._ngram_lm": "checks.overfitting._ngram_lm",
    "checks._patterns": "checks.integrity._patterns",
    "checks._probe": "checks.shared.probe",
    "checks._scan": "checks.shared.scan",
    "checks._text": "checks.shared.text",
    "checks.advisory": "checks.advice.advisory",
    "checks.bias_counterfactual": "checks.bias.counterfactual",
    "checks.bias_stats": "checks.bias._stats",
    "checks.chat_structure": "checks.integrity.chat",
    "checks.class_balance": "checks.labels.class_balance",
    "checks.diversity_semantic": "checks.diversity.semantic",
    "checks.diversity_text": "checks.shared.corpus",
    "checks.gx_integrity": "checks.integrity.gx",
    "checks.instruction_patterns": "checks.integrity.instructions",
    "checks.integrity": "checks.integrity.records",
    "checks.label_noise": "checks.labels.label_issues",
    "checks.leakage": "checks.duplication.leakage",
    "checks.length_outliers": "checks.integrity.lengths",
    "checks.outliers": "checks.diversity.outliers",
    "checks.overfitting_probes": "checks.overfitting._probes",
    "checks.pii": "checks.privacy.pii",
    "checks.structured_output": "checks.structured.output",
    "checks.text_hygiene": "checks.integrity.hygiene",
    "checks.truncation": "checks.integrity.truncation",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old module path to the module at its new path (the same module object)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning,
                      stacklevel=3)
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """The module ran at its new path already."""


def install() -> None:
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
