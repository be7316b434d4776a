"""The application: the `ft-audit` command line (`main`) and its commands, one module each.

The library core (`audit.*` outside this package) never imports it; it imports the core, the
built-in checks' public API (`checks.<family>`) and the renderers (`reports`).

    main.py             run, checks, explain, init; the entry point and exit codes
    report.py           report, rejudge (from a saved result)
    dedupe.py           dedupe
    gx_suite.py         gx-suite
    config_template.py  the commented config `init` writes
"""

from __future__ import annotations

from audit.cli.main import app, main

__all__ = ["app", "main"]
