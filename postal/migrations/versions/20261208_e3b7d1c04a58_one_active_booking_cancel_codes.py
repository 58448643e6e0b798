"""bookings: one active per dossier and kind, cancelled by whom and when, the fee paid ahead, cancel codes

Revision ID: e3b7d1c04a58
Revises: 3c4d5e6f7a81
Create Date: 2026-12-08 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import models.columns

revision = 'e3b7d1c04a58'
down_revision = '3c4d5e6f7a81'
branch_labels = None
depends_on = None

ACTIVE = "state IN ('requested', 'scheduled')"


def upgrade() -> None:
    with op.batch_alter_table('delivery_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fee_paid_at', models.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', models.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_delivery_request_cancelled_by_id_user_account', 'user_account',
                                    ['cancelled_by_id'], ['id'])
    # Before this, a second slot for the same dossier and kind was a second request (and a second fee): the first
    # one booked stands, the later ones are cancelled, so the index that keeps one active can be built.
    op.execute(f"UPDATE delivery_request SET state = 'cancelled', cancelled_at = updated_at WHERE {ACTIVE} AND EXISTS "
               f"(SELECT 1 FROM delivery_request AS first WHERE first.dossier_id = delivery_request.dossier_id "
               f"AND first.kind = delivery_request.kind AND first.{ACTIVE} AND first.id < delivery_request.id)")
    with op.batch_alter_table('delivery_request', schema=None) as batch_op:
        batch_op.create_index('uq_delivery_request_active', ['dossier_id', 'kind'], unique=True,
                              sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
    op.create_table(
        'delivery_cancel_code',
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('issued_at', models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column('wrong_tries', sa.Integer(), nullable=False),
        sa.Column('recent_codes', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['delivery_request.id']),
        sa.PrimaryKeyConstraint('request_id'),
    )


def downgrade() -> None:
    op.drop_table('delivery_cancel_code')
    with op.batch_alter_table('delivery_request', schema=None) as batch_op:
        batch_op.drop_index('uq_delivery_request_active', sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
        batch_op.drop_constraint('fk_delivery_request_cancelled_by_id_user_account', type_='foreignkey')
        batch_op.drop_column('cancelled_by_id')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('fee_paid_at')
