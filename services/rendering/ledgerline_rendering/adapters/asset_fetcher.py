"""The only way WeasyPrint may read anything: files of the package's assets folder and the configured logo.

Everything else (other file:// paths, http(s)://, ftp://, data:, links out of the folder) is refused
before any file or socket is touched (spec section 3). data: URLs are refused too: our templates never
need them, so allowing them would only widen what injected markup could do if escaping ever failed.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


class RefusedUrl(ValueError):
    """WeasyPrint asked for something outside the allowed assets."""


def asset_url(path: Path) -> str:
    return path.resolve().as_uri()


class AssetUrlFetcher(URLFetcher):  # type: ignore[misc]
    def __init__(self, assets_dir: Path = ASSETS_DIR, extra_files: Iterable[Path] = ()) -> None:
        # No handlers are used: fetch() below never calls urllib.
        super().__init__(allowed_protocols=("file",))
        self.assets_dir = assets_dir.resolve()
        self.extra_files = frozenset(path.resolve() for path in extra_files)

    def allowed_path(self, url: str) -> Path:
        """The local file a URL names if allowed; else RefusedUrl, raised before touching the disk."""
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise RefusedUrl(f"refused URL scheme or host: {url[:200]}")
        raw = Path(unquote(parts.path))
        if ".." in raw.parts:
            raise RefusedUrl(f"refused path: {url[:200]}")
        # A lexical check first, so a refused path is never even stat()ed.
        if not (raw.is_relative_to(self.assets_dir) or raw in self.extra_files):
            raise RefusedUrl(f"refused path: {url[:200]}")
        # Then the real one: a symlink inside the folder must not lead out of it.
        real = raw.resolve()
        if not (real.is_relative_to(self.assets_dir) or real in self.extra_files):
            raise RefusedUrl(f"refused link out of the assets: {url[:200]}")
        return real

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        path = self.allowed_path(url)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": media_type})
