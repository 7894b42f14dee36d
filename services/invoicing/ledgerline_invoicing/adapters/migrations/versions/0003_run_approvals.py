"""billing run approvals (issue 15: four eyes before production)

Revision ID: 0003_run_approvals
Revises: 0002_parked_outbox
Create Date: 2026-12-01 09:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_run_approvals"
down_revision: str | None = "0002_parked_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "billing_run_approvals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("approver_name", sa.String(length=200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("acknowledged_flags", sa.JSON(), nullable=False),
        sa.Column("flag_counts", sa.JSON(), nullable=False),
        sa.Column("previews", sa.Integer(), nullable=False),
        sa.Column("previews_hash", sa.String(length=64), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("production_run_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["billing_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("billing_run_approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_run_approvals_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_billing_run_approvals_period"), ["period"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("billing_run_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_run_approvals_period"))
        batch_op.drop_index(batch_op.f("ix_billing_run_approvals_run_id"))
    op.drop_table("billing_run_approvals")
