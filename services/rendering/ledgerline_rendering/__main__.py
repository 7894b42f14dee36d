"""`python -m ledgerline_rendering`: serve the rendering service."""

from ledgerline_rendering.config import get_rendering_settings
from ledgerline_rendering.entrypoints.app import create_app
from ledgerline_shared.runtime import serve

if __name__ == "__main__":
    settings = get_rendering_settings()
    serve(create_app(settings), settings.rendering_port, settings.http_host)
