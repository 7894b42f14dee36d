"""Invoice status travels on credit notes: the status's credited total, and what each note carried

Revision ID: 0004_invoice_status
Revises: 0003_sftp
Create Date: 2026-12-01 13:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_invoice_status'
down_revision: str | None = '0003_sftp'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_credited_total', sa.Numeric(18, 2), nullable=True))
        batch_op.add_column(sa.Column('credited_invoice_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('credited_invoice_total', sa.Numeric(18, 2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.drop_column('credited_invoice_total')
        batch_op.drop_column('credited_invoice_status')
        batch_op.drop_column('status_credited_total')
