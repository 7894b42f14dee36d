"""`python -m ledgerline_export`: serve the export service (HTTP and SFTP)."""

from ledgerline_export.config import get_export_settings
from ledgerline_export.entrypoints.app import create_app
from ledgerline_shared.runtime import serve

if __name__ == "__main__":
    settings = get_export_settings()
    serve(create_app(settings), settings.export_port, settings.http_host)
