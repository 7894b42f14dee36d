"""Renders the gateway's nginx configuration (deploy/gateway/nginx.conf.template) from LEDGERLINE_* settings.

    python deploy/gateway_config.py PREFIX     # writes PREFIX/nginx.conf and PREFIX/proxy-headers.conf

Used by deploy/gateway.sh; the tests import `render` and ROUTES. Only the standard library, so the gateway
can be configured before the virtual environment exists.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "gateway" / "nginx.conf.template"

# /api/v1/<first segment> -> the service that owns it. /api/v1/usage and /usage.csv have their own
# locations (larger bodies); /api/v1/dead-letters exists in every service, so it is reached per service
# under /ops/<service>/.
ROUTES: dict[str, tuple[str, ...]] = {
    "invoicing": (
        "articles",
        "billing-runs",
        "clients",
        "contacts",
        "invoices",
        "one-time-items",
        "previews",
        "proformas",
        "rate-plans",
    ),
    "rendering": ("documents",),
    "notification": ("deliveries",),
    "export": ("exports", "me", "sftp-accounts"),
}
USAGE_PATHS = ("usage", "usage.csv")
SERVICES = ("invoicing", "rendering", "notification", "export")
DEFAULT_PORTS = {
    "invoicing": 8101,
    "rendering": 8102,
    "notification": 8103,
    "export": 8104,
    "backoffice": 8105,
}

# Documented in README (configuration) and docs/operations.md (the gateway).
DEFAULTS = {
    "LEDGERLINE_GATEWAY_HOST": "127.0.0.1",
    "LEDGERLINE_GATEWAY_PORT": "8080",
    "LEDGERLINE_GATEWAY_MAX_BODY": "1m",
    "LEDGERLINE_GATEWAY_MAX_USAGE_JSON": "16m",
    "LEDGERLINE_GATEWAY_MAX_UPLOAD": "256m",
    "LEDGERLINE_GATEWAY_TLS_CERT": "",
    "LEDGERLINE_GATEWAY_TLS_KEY": "",
}
SIZE = re.compile(r"^[0-9]+[kKmMgG]?$")

PROXY_HEADERS = """\
# Included by every proxied location (a location that sets one proxy header loses the inherited ones).
proxy_set_header Host $http_host;
proxy_set_header Connection "";
proxy_set_header X-Real-IP $remote_addr;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Forwarded-Host $http_host;
proxy_set_header X-Request-Id $request_id;
"""


def _setting(env: Mapping[str, str], name: str) -> str:
    return env.get(name) or DEFAULTS[name]


def _port(env: Mapping[str, str], service: str) -> int:
    return int(env.get(f"LEDGERLINE_{service.upper()}_PORT") or DEFAULT_PORTS[service])


def _api_routes(prefix: Path) -> str:
    blocks = []
    for service, segments in ROUTES.items():
        pattern = "|".join(re.escape(s) for s in segments)
        blocks.append(
            f"        location ~ ^/api/v1/({pattern})(/|$) {{\n"
            f"            error_page 413 @too_large;\n"
            f"            error_page 502 503 504 = @api_unavailable;\n"
            f"            include {prefix}/proxy-headers.conf;\n"
            f"            proxy_pass http://{service};\n"
            f"        }}\n"
        )
    return "".join(blocks)


def _ops_routes(prefix: Path) -> str:
    blocks = []
    for service in SERVICES:
        base = f"/ops/{service}/"
        blocks.append(
            f"""        location = /ops/{service} {{ return 301 {base}; }}
        location {base} {{
            auth_request /_auth/ops;
            auth_request_set $ops_token $upstream_http_x_ledgerline_token;
            error_page 401 = @ops_sign_in;
            error_page 413 @too_large;
            error_page 502 503 504 = @api_unavailable;
            include {prefix}/proxy-headers.conf;
            proxy_set_header Authorization "Bearer $ops_token";
            # The dashboard's links and forms are absolute (/metrics, /docs, replay): keep them under {base}.
            proxy_set_header Accept-Encoding "";
            sub_filter_once off;
            sub_filter 'href="/' 'href="{base}';
            sub_filter 'action="/' 'action="{base}';
            sub_filter "'/openapi.json'" "'{base}openapi.json'";
            location = {base} {{
                proxy_pass http://{service}/dashboard;
            }}
            proxy_pass http://{service}/;
        }}
"""
        )
    return "".join(blocks)


def render(prefix: Path, env: Mapping[str, str] | None = None) -> str:
    """The nginx.conf for a gateway whose files live under `prefix`, with the ports and limits of `env`."""
    env = os.environ if env is None else env
    for name in DEFAULTS:
        if not name.startswith("LEDGERLINE_GATEWAY_MAX_"):
            continue
        if not SIZE.match(_setting(env, name)):
            raise ValueError(f"{name} must be a size like 1m or 512k, not {_setting(env, name)!r}")
    cert, key = _setting(env, "LEDGERLINE_GATEWAY_TLS_CERT"), _setting(env, "LEDGERLINE_GATEWAY_TLS_KEY")
    if bool(cert) != bool(key):
        raise ValueError("TLS needs both LEDGERLINE_GATEWAY_TLS_CERT and LEDGERLINE_GATEWAY_TLS_KEY")
    address = f"{_setting(env, 'LEDGERLINE_GATEWAY_HOST')}:{int(_setting(env, 'LEDGERLINE_GATEWAY_PORT'))}"
    tls = hsts = ""
    if cert:
        for path in (cert, key):
            if not Path(path).is_file():
                raise ValueError(f"TLS file not found: {path}")
        tls = (
            f"        ssl_certificate {Path(cert).resolve()};\n"
            f"        ssl_certificate_key {Path(key).resolve()};\n"
            "        ssl_protocols TLSv1.2 TLSv1.3;\n"
            "        ssl_session_cache shared:ledgerline_tls:1m;\n"
        )
        # HSTS only over TLS: sent over plain HTTP it would be meaningless (and ignored).
        hsts = '        add_header Strict-Transport-Security "max-age=31536000" always;\n'
    # As root, the workers drop to nobody (the master keeps root only to bind and open the logs).
    user = "user nobody nogroup;" if os.geteuid() == 0 else "# workers run as the starting user"
    values = {
        "user": user,
        "listen": f"listen {address}{' ssl' if cert else ''};",
        "tls": tls,
        "hsts": hsts,
        "prefix": str(prefix),
        "api_routes": _api_routes(prefix),
        "ops_routes": _ops_routes(prefix),
        "max_body": _setting(env, "LEDGERLINE_GATEWAY_MAX_BODY"),
        "max_usage_json": _setting(env, "LEDGERLINE_GATEWAY_MAX_USAGE_JSON"),
        "max_upload": _setting(env, "LEDGERLINE_GATEWAY_MAX_UPLOAD"),
        **{f"{s}_port": str(_port(env, s)) for s in (*SERVICES, "backoffice")},
    }
    text = TEMPLATE.read_text()
    unknown = set(re.findall(r"\{\{ (\w+) \}\}", text)) - values.keys()
    if unknown:
        raise ValueError(f"unknown placeholders {sorted(unknown)} in {TEMPLATE}")
    return re.sub(r"\{\{ (\w+) \}\}", lambda m: values[m.group(1)], text)
    return text


def write(prefix: Path, env: Mapping[str, str] | None = None) -> Path:
    """Writes the configuration and the folders nginx needs under `prefix`; returns nginx.conf's path."""
    prefix = prefix.resolve()
    for sub in ("logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.chown(prefix / "tmp" / sub, nobody.pw_uid, nobody.pw_gid)
    (prefix / "proxy-headers.conf").write_text(PROXY_HEADERS)
    conf = prefix / "nginx.conf"
    conf.write_text(render(prefix, env))
    return conf


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        print(write(Path(sys.argv[1])))
    except ValueError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        sys.exit(1)
