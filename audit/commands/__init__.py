"""Extra CLI commands, one module each (listed in `audit.cli.COMMAND_MODULES`).

Each module defines `add_commands(app: typer.Typer) -> None` and imports heavy libraries inside
its command functions.
"""
