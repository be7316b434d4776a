"""`python -m audit` is the `ft-audit` command."""

from audit.cli.main import main

if __name__ == "__main__":
    main()
