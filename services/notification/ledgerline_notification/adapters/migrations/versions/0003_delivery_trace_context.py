"""notification: the trace a delivery was recorded in (issue 13 item 4)

The delivery worker sends an e-mail later, in another task (or another instance): the W3C trace
context of the `document.rendered` that asked for it is kept on the row, so the send and the
`invoice.delivered` it announces stay in that document's trace.

Revision ID: 0003_delivery_trace_context
Revises: 0002_parked_outbox
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_delivery_trace_context"
down_revision: str | None = "0002_parked_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("trace_context", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("trace_context")
