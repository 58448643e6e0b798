"""outbox: messages kept back by a gateway's configuration fault

Revision ID: c7e2a91d4f10
Revises: b4939e26e1e4
Create Date: 2026-12-07 12:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = 'c7e2a91d4f10'
down_revision = 'b4939e26e1e4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_for_config', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('held_for_config')
