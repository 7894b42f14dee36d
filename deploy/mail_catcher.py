"""A local SMTP catcher for `make run`: accepts every message, keeps it as a .eml file, shows a list.

    python deploy/mail_catcher.py --smtp-port 2525 --http-port 8025 --folder var/run/mail

Open http://127.0.0.1:8025 to read what Ledgerline sent (subject, recipients, attachments).
"""

from __future__ import annotations

import argparse
import email
import email.policy
import html
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class KeepMessages:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.time_ns()}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 OK kept as " + name


def _index(folder: Path) -> str:
    rows = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:200]:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        attachments = [p.get_filename() for p in msg.iter_attachments()]  # type: ignore[attr-defined]
        rows.append(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href='/{}'>raw</a></td></tr>".format(
                *(
                    html.escape(str(v or ""))
                    for v in (msg["Date"], msg["To"], msg["Subject"], ", ".join(map(str, attachments)))
                ),
                html.escape(path.name),
            )
        )
    return (
        "<!doctype html><meta charset=utf-8><title>Ledgerline mail</title>"
        "<style>body{font:14px system-ui;margin:1.5rem}"
        "td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem}</style>"
        "<h1>Mail caught by the local SMTP server</h1><table><tr><th>date</th><th>to</th><th>subject</th>"
        "<th>attachments</th><th></th></tr>" + "".join(rows) + "</table>"
    )


def serve_http(folder: Path, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            if not name:
                body, kind = _index(folder).encode(), "text/html; charset=utf-8"
            elif name.endswith(".eml") and "/" not in name and (folder / name).is_file():
                body, kind = (folder / name).read_bytes(), "message/rfc822"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--folder", type=Path, default=Path("var/run/mail"))
    args = parser.parse_args()
    controller = Controller(KeepMessages(args.folder), hostname="127.0.0.1", port=args.smtp_port)
    controller.start()
    serve_http(args.folder, args.http_port)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()


if __name__ == "__main__":
    main()
