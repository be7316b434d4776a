"""Diversity: lexical variety, templated text, topic and task coverage, and records far from
the rest.
"""

from __future__ import annotations

from checks.diversity.lexical import LexicalDiversity, TemplateConcentration
from checks.diversity.outliers import Outliers
from checks.diversity.semantic import SemanticDiversity, TaskCoverage

__all__ = ["LexicalDiversity", "Outliers", "SemanticDiversity", "TaskCoverage", "TemplateConcentration"]
