"""The application: the `ft-audit` command line and its commands, one module each.

The library core (`audit.*` outside this package) never imports it; it imports the core, the
built-in checks' public API (`checks.<family>`) and the renderers (`reports`).

    main.py             run, checks, explain, init; the entry point `main` and exit codes
    report.py           report, rejudge (from a saved result)
    diff.py             diff (two results)
    cache.py            cache info, cache clear (the incremental cache of `run --cache`)
    fix.py              fix (a cleaned copy under a policy; fix_policy, fix_plan, fix_io)
    card.py             card (a Hugging Face dataset card from a result)
    dedupe.py           dedupe (a shortcut of fix)
    gx_suite.py         gx-suite
    config_template.py  the commented config `init` writes

The entry point is `audit.cli.main:main` (the `ft-audit` script and `python -m audit`).
"""
