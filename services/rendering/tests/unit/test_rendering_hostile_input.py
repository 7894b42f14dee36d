"""Untrusted text never becomes markup or a fetch: it is printed literally, and nothing but assets is read."""

import io
import os
import socket
from pathlib import Path
from typing import ClassVar

import pytest
from pypdf import PdfReader
from rendering_factory import (
    line,
    make_branding,
    make_buyer,
    make_consumption,
    make_credit_note,
    make_document,
)

from ledgerline_rendering.adapters.asset_fetcher import ASSETS_DIR, AssetUrlFetcher, RefusedUrl
from ledgerline_rendering.adapters.pdf_document import PdfRenderer
from ledgerline_rendering.adapters.render_pool import render_document

IMG = '<img src="file:///etc/passwd">'
LINK = '<link rel="stylesheet" href="http://127.0.0.1:9/evil.css">'
CSS_URL = '<b style="background:url(https://evil.example/x.png)">x</b>'
BARE_CSS = "url(file:///etc/shadow)"
SCRIPT = "<script>alert(1)</script>"
HOSTILE = [IMG, LINK, CSS_URL, BARE_CSS, SCRIPT]


class SpyFetcher(AssetUrlFetcher):
    requested: ClassVar[list[str]] = []

    def fetch(self, url, headers=None):  # type: ignore[no-untyped-def]
        SpyFetcher.requested.append(url)
        return super().fetch(url, headers)


def squeeze(text: str) -> str:
    # PDF text extraction wraps long cells; compare without any whitespace.
    return "".join(text.split())


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access attempted during rendering")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def hostile_document():  # type: ignore[no-untyped-def]
    base = make_credit_note()
    buyer = make_buyer(name=f"ACME {IMG}", address=base.buyer.address.model_copy(update={"line2": LINK}))
    consumption = make_consumption(2)
    consumption[0] = consumption[0].model_copy(update={"label": BARE_CSS})
    return make_document(
        [line(1, CSS_URL, "1", "10.00"), line(2, SCRIPT, "1", "5.00")],
        type=base.type,
        number=base.number,
        references=base.references,
        buyer=buyer,
        consumption=consumption,
        reason=f"Motif {IMG}",
    )


def test_hostile_text_is_printed_literally_and_only_assets_are_fetched(no_network: list[object]) -> None:
    renderer = PdfRenderer(fetcher_class=SpyFetcher)
    SpyFetcher.requested = []
    document = hostile_document()
    html = renderer.html(document, make_branding())
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert IMG not in html and LINK not in html and SCRIPT not in html and CSS_URL not in html

    result = render_document(renderer, document, make_branding())
    assert SpyFetcher.requested == [(ASSETS_DIR / "logo.svg").resolve().as_uri()]
    assert no_network == []
    text = squeeze("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(result.pdf)).pages))
    for hostile in HOSTILE:
        assert squeeze(hostile) in text, hostile
    assert result.ubl is not None and b"ACME &lt;img" in result.ubl  # the XML escapes it too
    assert result.cii is not None and b"ACME &lt;img" in result.cii


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/evil.css",
        "https://evil.example/x.png",
        "ftp://evil.example/x",
        "data:text/plain;base64,SGVsbG8=",
        (ASSETS_DIR / ".." / "adapters" / "ubl.py").as_uri(),
        ASSETS_DIR.as_uri() + "/%2e%2e/adapters/ubl.py",
        "file://evil.example" + str(ASSETS_DIR / "logo.svg"),
    ],
)
def test_fetcher_refuses_without_touching_disk_or_network(
    url: str, monkeypatch: pytest.MonkeyPatch, no_network: list[object]
) -> None:
    fetcher = AssetUrlFetcher()
    touched: list[object] = []
    real_stat = os.stat

    def spy_stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        touched.append(path)
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", spy_stat)
    monkeypatch.setattr(os, "lstat", spy_stat)
    monkeypatch.setattr(Path, "read_bytes", lambda self: touched.append(self))
    with pytest.raises(RefusedUrl):
        fetcher.fetch(url)
    assert touched == [] and no_network == []


def test_fetcher_refuses_a_symlink_leading_out_of_the_assets(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (assets / "logo.svg").symlink_to(secret)
    with pytest.raises(RefusedUrl):
        AssetUrlFetcher(assets).fetch((assets / "logo.svg").as_uri())


def test_fetcher_serves_assets_and_the_configured_logo_only(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG fake")
    fetcher = AssetUrlFetcher(extra_files=[logo])
    assert fetcher.fetch(logo.as_uri()).read() == b"\x89PNG fake"
    response = fetcher.fetch((ASSETS_DIR / "logo.svg").as_uri())
    assert response.content_type == "image/svg+xml" and b"<svg" in response.read()
    with pytest.raises(RefusedUrl):
        fetcher.fetch((tmp_path / "other.png").as_uri())
