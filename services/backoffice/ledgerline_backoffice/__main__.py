"""`python -m ledgerline_backoffice`: serve the back office, or manage its users (see entrypoints/cli.py)."""

import sys

from ledgerline_backoffice.entrypoints.cli import main

if __name__ == "__main__":
    sys.exit(main())
