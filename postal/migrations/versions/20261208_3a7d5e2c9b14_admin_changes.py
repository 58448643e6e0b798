"""admin changes: the audit log, tokens' last use, sites that leave the network, templates' weekdays

Revision ID: 3a7d5e2c9b14
Revises: c7e2a91d4f10
Create Date: 2026-12-08 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

import models.columns


revision = '3a7d5e2c9b14'
down_revision = 'c7e2a91d4f10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', models.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('object_type', sa.String(length=16), nullable=False),
    sa.Column('object_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_admin_change_at', 'admin_change', ['at'], unique=False)
    op.create_index('ix_admin_change_object', 'admin_change', ['object_type', 'object_key', 'at'], unique=False)
    # Plain ALTER TABLE … ADD COLUMN, not batch mode: copying these tables would break the foreign keys to them.
    op.add_column('api_token', sa.Column('last_used_at', models.columns.UTCDateTime(timezone=True), nullable=True))
    op.add_column('site', sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('run_template', sa.Column('weekdays', sqlmodel.sql.sqltypes.AutoString(length=7),
                                            server_default='12345', nullable=False))


def downgrade() -> None:
    op.drop_column('run_template', 'weekdays')
    op.drop_column('site', 'active')
    op.drop_column('api_token', 'last_used_at')
    op.drop_index('ix_admin_change_object', table_name='admin_change')
    op.drop_index('ix_admin_change_at', table_name='admin_change')
    op.drop_table('admin_change')
