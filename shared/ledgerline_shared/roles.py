"""The roles a token carries (spec section 3): plain names, no I/O, so any layer may import them."""

from __future__ import annotations

ADMIN = "admin"
BILLING = "billing"
ACCOUNTING = "accounting"
READONLY = "readonly"
OPS = "ops"
CLIENT_PREFIX = "client:"
STAFF_ROLES = frozenset({ADMIN, BILLING, ACCOUNTING, READONLY})
