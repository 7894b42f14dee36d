"""`python -m ledgerline_notification`: serve the notification service."""

from ledgerline_notification.config import get_notification_settings
from ledgerline_notification.entrypoints.app import create_app
from ledgerline_shared.runtime import serve

if __name__ == "__main__":
    settings = get_notification_settings()
    serve(create_app(settings), settings.notification_port, settings.http_host)
