"""notification: when a claimed delivery's SMTP transaction began

A worker claims a batch of deliveries, then sends them a few at a time. A process killed meanwhile left
all of them `sending`, and every one became `unconfirmed` (never resent), though most never reached the
SMTP server. `smtp_started_at` is committed just before each delivery's SMTP transaction: an expired
claim without it goes back to `pending` (nothing left), only one with it is `unconfirmed`.

Revision ID: 0004_smtp_started
Revises: 0003_delivery_trace_context
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_smtp_started"
down_revision: str | None = "0003_delivery_trace_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("smtp_started_at", sa.DateTime(timezone=True), nullable=True))
    # A claim in flight during the upgrade may have begun its SMTP transaction: keep it `unconfirmed`.
    op.execute("UPDATE deliveries SET smtp_started_at = claimed_at WHERE status = 'sending'")


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("smtp_started_at")
