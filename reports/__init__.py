"""Renderers of audit results. They read only result types (`audit.result`), never checks.

Importing this package registers its formats with `audit.renderers` (ft-audit does so through
the `ft_audit.renderers` entry point), so the core renders HTML without importing it.
"""

from __future__ import annotations

from audit.renderers import register_renderer
from reports.html_report import render_fragment, render_html
from reports.junit_report import render_junit
from reports.markdown_report import render_markdown

register_renderer("html", render_html)
register_renderer("html_fragment", render_fragment)
register_renderer("markdown", render_markdown)
register_renderer("junit", render_junit)
