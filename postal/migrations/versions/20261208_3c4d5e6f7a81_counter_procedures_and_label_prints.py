"""counter: procedures a site receives, what the clerk records of a dossier, labels printed again

Revision ID: 3c4d5e6f7a81
Revises: 3a7d5e2c9b14
Create Date: 2026-12-08 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

import models.columns


revision = '3c4d5e6f7a81'
down_revision = '3a7d5e2c9b14'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'procedure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('processing_days', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['site.id']),
        sa.ForeignKeyConstraint(['site_id'], ['site.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_agency_id'), ['agency_id'], unique=False)
    op.create_table(
        'label_print',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('parcel_id', sa.Integer(), nullable=False),
        sa.Column('printed_by_id', sa.Integer(), nullable=False),
        sa.Column('printed_at', models.columns.UTCDateTime(), nullable=False),
        sa.Column('format', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['parcel_id'], ['parcel.id']),
        sa.ForeignKeyConstraint(['printed_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('label_print', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_print_parcel_id'), ['parcel_id'], unique=False)
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applicant_id_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('return_slot', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('items', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column('due_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        for column in ('due_reason', 'notes', 'items', 'return_slot', 'applicant_id_number'):
            batch_op.drop_column(column)
    with op.batch_alter_table('label_print', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_print_parcel_id'))
    op.drop_table('label_print')
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_agency_id'))
    op.drop_table('procedure')
