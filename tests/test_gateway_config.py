"""The gateway's configuration as rendered from settings: refusals, ports and limits, the TLS switch."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from gateway_config import SERVICES, render, write


def test_plain_http_by_default_without_hsts(tmp_path: Path) -> None:
    conf = render(tmp_path, {})
    assert "listen 127.0.0.1:8080;" in conf
    assert "ssl_certificate" not in conf and 'Strict-Transport-Security"' not in conf
    assert "client_max_body_size 1m;" in conf and "client_max_body_size 256m;" in conf
    assert "{{" not in conf


def test_ports_and_limits_come_from_the_settings(tmp_path: Path) -> None:
    env = {
        "LEDGERLINE_GATEWAY_PORT": "18999",
        "LEDGERLINE_INVOICING_PORT": "18901",
        "LEDGERLINE_BACKOFFICE_PORT": "18905",
        "LEDGERLINE_GATEWAY_MAX_UPLOAD": "64m",
    }
    conf = render(tmp_path, env)
    assert "listen 127.0.0.1:18999;" in conf
    assert "server 127.0.0.1:18901;" in conf and "server 127.0.0.1:18905;" in conf
    assert "client_max_body_size 64m;" in conf


def test_tls_switches_on_with_both_files(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("cert"), key.write_text("key")
    conf = render(
        tmp_path, {"LEDGERLINE_GATEWAY_TLS_CERT": str(cert), "LEDGERLINE_GATEWAY_TLS_KEY": str(key)}
    )
    assert "listen 127.0.0.1:8080 ssl;" in conf
    assert f"ssl_certificate {cert};" in conf and f"ssl_certificate_key {key};" in conf
    assert "Strict-Transport-Security" in conf


@pytest.mark.parametrize(
    "env, message",
    [
        ({"LEDGERLINE_GATEWAY_MAX_BODY": "1 GB"}, "size"),
        ({"LEDGERLINE_GATEWAY_MAX_UPLOAD": "1m; include /etc/passwd"}, "size"),
        ({"LEDGERLINE_GATEWAY_TLS_CERT": "/nowhere/cert.pem"}, "both"),
        (
            {"LEDGERLINE_GATEWAY_TLS_CERT": "/nowhere/c.pem", "LEDGERLINE_GATEWAY_TLS_KEY": "/nowhere/k.pem"},
            "not found",
        ),
    ],
)
def test_a_bad_setting_is_refused_before_nginx_starts(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        render(tmp_path, env)


def test_the_rendered_configuration_passes_nginx_own_check(tmp_path: Path) -> None:
    conf = write(tmp_path / "gateway", {"LEDGERLINE_GATEWAY_PORT": "18998"})
    check = subprocess.run(
        [
            "/usr/sbin/nginx",
            "-t",
            "-q",
            "-p",
            f"{conf.parent}/",
            "-e",
            f"{conf.parent}/logs/error.log",
            "-c",
            str(conf),
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


def test_a_service_that_does_not_answer_gets_a_sentence_not_nginx_page(tmp_path: Path) -> None:
    """A real nginx whose upstreams are closed ports: 503 with what to do, JSON on the API paths."""
    import httpx

    port = 18997 + int(os.environ.get("LEDGERLINE_TEST_PORT_OFFSET", "0"))
    env = {**os.environ, "LEDGERLINE_GATEWAY_DIR": str(tmp_path / "gw"), "LEDGERLINE_GATEWAY_PORT": str(port)}
    env.update({f"LEDGERLINE_{s.upper()}_PORT": "9" for s in (*SERVICES, "backoffice")})  # discard: closed
    script = [str(Path(__file__).resolve().parents[1] / "deploy" / "gateway.sh")]
    subprocess.run(["bash", *script, "start"], env=env, check=True, capture_output=True)
    try:
        page = httpx.get(f"http://127.0.0.1:{port}/invoices", timeout=10)
        assert page.status_code == 503 and "Try again in a minute" in page.text
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["content-type"].startswith("text/html")
        api = httpx.get(f"http://127.0.0.1:{port}/api/v1/invoices", timeout=10)
        assert api.status_code == 503 and "try again" in api.json()["detail"]
        assert api.headers["x-content-type-options"] == "nosniff"
        # Every API location keeps the gateway's JSON 413 (a location's error_page replaces inherited ones).
        for path in ("/api/v1/clients", "/api/v1/usage", "/ops/invoicing/api/v1/dead-letters/1/replay"):
            big = httpx.post(f"http://127.0.0.1:{port}{path}", content=b"x" * (17 * 1024 * 1024), timeout=30)
            assert big.status_code == 413 and "too large" in big.json()["detail"], (path, big.text[:200])
    finally:
        subprocess.run(["bash", *script, "stop"], env=env, check=True, capture_output=True)
