"""`ledgerline` command: `ledgerline token --sub alice --roles billing` mints a local token."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from ledgerline_shared.auth import mint_token
from ledgerline_shared.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ledgerline")
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="mint a local HS256 token signed with LEDGERLINE_JWT_SECRET")
    token.add_argument("--sub", required=True)
    token.add_argument("--roles", required=True, help="comma-separated, e.g. billing or client:C0001")
    token.add_argument("--name")
    token.add_argument("--email")
    token.add_argument("--hours", type=float, default=12.0)
    args = parser.parse_args(argv)
    if args.command == "token":
        roles = [r.strip() for r in args.roles.split(",") if r.strip()]
        try:
            minted = mint_token(
                get_settings(),
                sub=args.sub,
                roles=roles,
                name=args.name,
                email=args.email,
                ttl=dt.timedelta(hours=args.hours),
            )
        except ValueError as exc:
            print(f"ledgerline token: {exc}", file=sys.stderr)
            return 2
        print(minted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
