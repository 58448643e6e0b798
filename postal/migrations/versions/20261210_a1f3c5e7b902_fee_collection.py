"""fees at the door: the procedure fee an agency asks the post office to collect, and the collections

Revision ID: a1f3c5e7b902
Revises: 5b8e1f2a3c47
Create Date: 2026-12-10 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

import models.columns


revision = 'a1f3c5e7b902'
down_revision = '5b8e1f2a3c47'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('collect_fee_vnd', sa.Integer(), nullable=True))
    op.create_table(
        'fee_collection',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('courier_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('delivery_fee_due_vnd', sa.Integer(), nullable=False),
        sa.Column('procedure_fee_due_vnd', sa.Integer(), nullable=False),
        sa.Column('received_vnd', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column('collected_at', models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['delivery_request.id']),
        sa.ForeignKeyConstraint(['courier_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['agency_id'], ['site.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('request_id'),
    )
    with op.batch_alter_table('fee_collection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fee_collection_courier_id'), ['courier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fee_collection_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fee_collection_collected_at'), ['collected_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('fee_collection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fee_collection_collected_at'))
        batch_op.drop_index(batch_op.f('ix_fee_collection_agency_id'))
        batch_op.drop_index(batch_op.f('ix_fee_collection_courier_id'))
    op.drop_table('fee_collection')
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.drop_column('collect_fee_vnd')
