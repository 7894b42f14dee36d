"""`python -m ledgerline_invoicing`: serve the invoicing service."""

from ledgerline_invoicing.config import get_invoicing_settings
from ledgerline_invoicing.entrypoints.app import create_app
from ledgerline_shared.runtime import serve

if __name__ == "__main__":
    settings = get_invoicing_settings()
    serve(create_app(settings), settings.invoicing_port, settings.http_host)
