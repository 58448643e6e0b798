"""indexes for the board and reports

Revision ID: 0ec103812f21
Revises: 69ec5205632c
Create Date: 2026-11-23 07:54:10.662943
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

import models.columns


revision = '0ec103812f21'
down_revision = '69ec5205632c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain index creation, never batch mode: SQLite would copy custody_event and lose its append-only triggers.
    op.create_index('ix_custody_event_transfers', 'custody_event', ['device_at', 'action', 'from_holder', 'parcel_id'],
                    unique=False, sqlite_where=sa.text("action IN ('handover', 'receive')"),
                    postgresql_where=sa.text("action IN ('handover', 'receive')"))
    op.create_index('ix_dossier_returned', 'dossier', ['returned_at', 'agency_id', 'due_at'], unique=False,
                    sqlite_where=sa.text('returned_at IS NOT NULL'), postgresql_where=sa.text('returned_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_dossier_returned', table_name='dossier')
    op.drop_index('ix_custody_event_transfers', table_name='custody_event')
