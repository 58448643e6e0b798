"""outbox: the zalo channel (template data, the SMS fallback) and the OA's sealed tokens

Revision ID: d3a8f61b2c57
Revises: e3b7d1c04a58
Create Date: 2026-12-08 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

import models.columns


revision = 'd3a8f61b2c57'
down_revision = 'e3b7d1c04a58'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('fallback', sa.Text(), nullable=True))
    op.create_table(
        'zalo_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('access_token', sa.Text(), nullable=True),
        sa.Column('refresh_token', sa.Text(), nullable=False),
        sa.Column('expires_at', models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column('seed', sa.String(length=16), nullable=False),
        sa.Column('refreshing_until', models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column('refreshed_at', models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('zalo_token')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('fallback')
        batch_op.drop_column('template')
