"""the scheduler's heartbeat: which process leads and when it last said so, for /healthz

Revision ID: c4d2e8f1a9b3
Revises: c7d2e9a4f160
Create Date: 2026-12-11 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

import models.columns


revision = 'c4d2e8f1a9b3'
down_revision = 'c7d2e9a4f160'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'scheduler_beat',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('leader', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('beat_at', models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('scheduler_beat')
