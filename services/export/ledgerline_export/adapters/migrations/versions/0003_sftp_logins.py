"""SFTP logins: revocation, and the login attempts audit table (lockout counts its failures)

Revision ID: 0003_sftp
Revises: 0002_parked_outbox
Create Date: 2026-12-01 09:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003_sftp'
down_revision: str | None = '0002_parked_outbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sftp_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_by', sa.String(length=200), nullable=True))
    op.create_table('sftp_login_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sftp_login_attempts_user', 'sftp_login_attempts', ['username', 'at'], unique=False)
    op.create_index('ix_sftp_login_attempts_address', 'sftp_login_attempts', ['address', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sftp_login_attempts_address', table_name='sftp_login_attempts')
    op.drop_index('ix_sftp_login_attempts_user', table_name='sftp_login_attempts')
    op.drop_table('sftp_login_attempts')
    with op.batch_alter_table('sftp_users', schema=None) as batch_op:
        batch_op.drop_column('revoked_by')
        batch_op.drop_column('revoked_at')
