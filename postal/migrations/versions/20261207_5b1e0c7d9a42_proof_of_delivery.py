"""proof of delivery: outbox secrets sealed until sent, a budget of codes and guesses per parcel, the lock

Revision ID: 5b1e0c7d9a42
Revises: f90eb739f355
Create Date: 2026-11-24 09:00:00.000000
"""

import re

import sqlalchemy as sa
from alembic import op

import models.columns

revision = '5b1e0c7d9a42'
down_revision = 'f90eb739f355'
branch_labels = None
depends_on = None

OTP_IN_TEXT = re.compile(r"\(OTP\): \d{6}")


def upgrade() -> None:
    op.add_column('delivery_otp', sa.Column('wrong_total', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('delivery_otp', sa.Column('codes_sent', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('delivery_otp', sa.Column('recent_codes', sa.Text(), nullable=False, server_default=''))
    op.add_column('delivery_otp', sa.Column('locked_at', models.columns.UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox_message', sa.Column('secret', sa.Text(), nullable=True))
    # What was spent before the budget existed still counts: the live code's wrong tries, and the code itself.
    op.execute("UPDATE delivery_otp SET wrong_total = wrong_tries, codes_sent = 1 WHERE otp_hash != ''")
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
    with op.batch_alter_table('delivery_otp', schema=None) as batch_op:
        batch_op.drop_column('locked_at')
        batch_op.drop_column('recent_codes')
        batch_op.drop_column('codes_sent')
        batch_op.drop_column('wrong_total')
