"""rendering: which versions have their copy in the SFTP tree (`production/`)

A version's production copy is written after its transaction commits; a process killed in between left
the SFTP tree without it for good. `published_at` stays NULL until the copy is known to be there, so any
instance can finish the job (service/production_copies.py). Versions recorded before this migration were
copied by the process that recorded them: they count as published.

Revision ID: 0003_production_copies
Revises: 0002_parked_outbox
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_production_copies"
down_revision: str | None = "0002_parked_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("document_versions", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE document_versions SET published_at = rendered_at")
    op.create_index(
        "ix_versions_unpublished",
        "document_versions",
        ["rendered_at"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_versions_unpublished", table_name="document_versions")
    op.drop_column("document_versions", "published_at")
