"""Ledgerline's back office and client portal: server-rendered screens over the four APIs.

For whoever runs it (make run, the gateway, the browser tests):

- `python -m ledgerline_backoffice [serve]` on LEDGERLINE_HTTP_HOST:LEDGERLINE_BACKOFFICE_PORT (8105);
  the APIs at LEDGERLINE_BACKOFFICE_{INVOICING,RENDERING,NOTIFICATION,EXPORT}_URL (default
  http://127.0.0.1:<LEDGERLINE_<SERVICE>_PORT>); the same LEDGERLINE_JWT_SECRET / _ISSUER as the APIs.
- `python -m ledgerline_backoffice users add --username U --password P --roles billing[,..]
  [--name N] [--email E] [--client <client_id>]` (adds or replaces; 8+ character passwords), `users list`.
  The file is <LEDGERLINE_DATA_DIR>/backoffice/users.json (argon2 hashes).
- `/health/live`, `/health/ready` (503 while the users file or an API is unavailable), `/metrics`.
- `/auth/ops-token` for nginx `auth_request`: 200 + `X-Ledgerline-Token` (admin or ops), 401, 403.
- Behind the gateway: pass `X-Real-IP` (sign-in throttling per address trusts it from the loopback,
  LEDGERLINE_BACKOFFICE_TRUSTED_PROXIES); LEDGERLINE_BACKOFFICE_SECURE_COOKIES=true under TLS.
- Every control that changes something carries `data-action="<name>"` (send, regenerate, credit,
  proforma, recipient-on/off, add-item, item-active, run-preview, run-production, export, export-list,
  sftp-password) or is a POST form; readonly and portal pages have none besides sign-out.
"""
