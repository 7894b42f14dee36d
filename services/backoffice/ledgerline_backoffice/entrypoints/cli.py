"""`python -m ledgerline_backoffice [serve]` serves the back office; `users add|list` keeps the users file.

    python -m ledgerline_backoffice users add --username U --password-stdin --roles billing[,..] \\
        [--name "Full Name"] [--email a@b] [--client <client_id>]     (adds or replaces)
    python -m ledgerline_backoffice users list

`--password-stdin` reads the password from the first line of standard input, which keeps it out of the
process list and lets it begin with "-"; `--password=P` (with "=") is accepted for quick local use.
`--client C` gives the role `client:C` (a portal user); `--roles` may then be empty.
"""

from __future__ import annotations

import argparse
import sys

from ledgerline_backoffice.adapters.users_file import UsersFile
from ledgerline_backoffice.config import get_backoffice_settings
from ledgerline_backoffice.domain.users import InvalidUser, check_username, parse_roles


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ledgerline_backoffice")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve on LEDGERLINE_HTTP_HOST:LEDGERLINE_BACKOFFICE_PORT (default)")
    users = commands.add_parser("users", help="the users file under <data dir>/backoffice/")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser("add", help="add a user, or replace the one of that username")
    add.add_argument("--username", required=True)
    secret = add.add_mutually_exclusive_group(required=True)
    secret.add_argument("--password", help="prefer --password-stdin: a command line is visible to others")
    secret.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--roles", default="", help="comma-separated: admin, billing, accounting, readonly, ops")
    add.add_argument("--name", default="")
    add.add_argument("--email", default="")
    add.add_argument("--client", default=None, help="a portal user of this client id (role client:<id>)")
    user_commands.add_parser("list", help="usernames, names and roles (never hashes)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_backoffice_settings()
    if args.command in (None, "serve"):
        from ledgerline_backoffice.entrypoints.app import create_app
        from ledgerline_shared.auth import startup_problem
        from ledgerline_shared.runtime import serve

        problem = startup_problem(settings)  # the same rule as the four services: no default secret
        if problem is not None:
            print(f"ledgerline-backoffice: refusing to start: {problem}", file=sys.stderr)
            return 2
        serve(create_app(settings), settings.backoffice_port, settings.http_host)
        return 0
    users = UsersFile(settings.users_path())
    if args.users_command == "add":
        try:
            username = check_username(args.username.strip())
            roles = parse_roles(args.roles, args.client)
        except InvalidUser as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 2
        password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else args.password
        if len(password) < 8:
            print("refused: a password has at least 8 characters", file=sys.stderr)
            return 2
        user = users.put(username, password, roles, args.name.strip(), args.email.strip())
        print(f"{user.username}: {', '.join(user.roles)} ({users.path})")
        return 0
    for user in users.all():
        print(f"{user.username}\t{user.display_name}\t{user.email}\t{','.join(user.roles)}")
    return 0
