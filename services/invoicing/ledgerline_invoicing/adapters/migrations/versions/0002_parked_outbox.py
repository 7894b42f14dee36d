"""invoicing: the outbox rows the relay parked (issue 11 item 2)

Revision ID: 0002_parked_outbox
Revises: 0001
"""

from collections.abc import Sequence

from ledgerline_shared.migrations import create_parked_outbox, drop_parked_outbox

revision: str = "0002_parked_outbox"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_parked_outbox()


def downgrade() -> None:
    drop_parked_outbox()
