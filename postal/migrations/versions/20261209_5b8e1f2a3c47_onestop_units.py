"""onestop: the one-stop system's unit codes mapped to agencies

Revision ID: 5b8e1f2a3c47
Revises: d3a8f61b2c57
Create Date: 2026-12-09 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '5b8e1f2a3c47'
down_revision = 'd3a8f61b2c57'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'onestop_unit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_code', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('onestop_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onestop_unit_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_onestop_unit_unit_code'), ['unit_code'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('onestop_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_onestop_unit_unit_code'))
        batch_op.drop_index(batch_op.f('ix_onestop_unit_site_id'))
    op.drop_table('onestop_unit')
