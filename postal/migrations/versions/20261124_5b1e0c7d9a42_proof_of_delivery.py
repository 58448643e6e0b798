"""outbox secrets sealed until sent

Revision ID: 5b1e0c7d9a42
Revises: 0ec103812f21
Create Date: 2026-11-24 09:00:00.000000
"""

import re

import sqlalchemy as sa
from alembic import op

revision = '5b1e0c7d9a42'
down_revision = '0ec103812f21'
branch_labels = None
depends_on = None

OTP_IN_TEXT = re.compile(r"\(OTP\): \d{6}")


def upgrade() -> None:
    op.add_column('outbox_message', sa.Column('secret', sa.Text(), nullable=True))
    # Delivery codes sent (or given up on) before codes were sealed are still readable in their rows: mask
    # them. A row still waiting to be sent keeps its code, or the citizen would get none.
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, body FROM outbox_message WHERE dedupe_key LIKE '%:sms:out_for_delivery' "
                                "AND state IN ('sent', 'failed')")).all()
    for row_id, body in rows:
        conn.execute(sa.text("UPDATE outbox_message SET body = :body WHERE id = :id"),
                     {"id": row_id, "body": OTP_IN_TEXT.sub("(OTP): ******", body)})


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('secret')
