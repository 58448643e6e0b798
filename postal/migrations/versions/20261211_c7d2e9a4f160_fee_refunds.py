"""a fee paid ahead for a cancelled request, given back at the counter: when and by whom

Revision ID: c7d2e9a4f160
Revises: a1f3c5e7b902
Create Date: 2026-12-11 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

import models.columns


revision = 'c7d2e9a4f160'
down_revision = 'a1f3c5e7b902'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('delivery_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fee_refunded_at', models.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('fee_refunded_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_delivery_request_fee_refunded_by_id_user_account', 'user_account',
                                    ['fee_refunded_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('delivery_request', schema=None) as batch_op:
        batch_op.drop_constraint('fk_delivery_request_fee_refunded_by_id_user_account', type_='foreignkey')
        batch_op.drop_column('fee_refunded_by_id')
        batch_op.drop_column('fee_refunded_at')
