"""sessions that end and tokens that expire

Revision ID: b4939e26e1e4
Revises: 5b1e0c7d9a42
Create Date: 2026-12-07 02:12:19.000000
"""

from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa

import models.columns


revision = 'b4939e26e1e4'
down_revision = '5b1e0c7d9a42'
branch_labels = None
depends_on = None

TOKEN_DAYS = 90  # the default lifetime, counted from the upgrade so that devices in use keep working


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deactivated_at', models.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', models.columns.UTCDateTime(timezone=True), nullable=True))
    expires = datetime.now(UTC) + timedelta(days=TOKEN_DAYS)
    op.execute(sa.text("UPDATE api_token SET expires_at = :expires")
               .bindparams(sa.bindparam("expires", expires, type_=models.columns.UTCDateTime())))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=models.columns.UTCDateTime(timezone=True), nullable=False)


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not batch mode: copying user_account would break the
    # foreign keys that point at it.
    op.drop_column('api_token', 'expires_at')
    op.drop_column('user_account', 'session_version')
    op.drop_column('user_account', 'deactivated_at')
