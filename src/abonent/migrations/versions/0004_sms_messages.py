"""sms_messages and sms_parts: outgoing SMS and their delivery receipts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_messages",
        sa.Column("id", _ID, nullable=False),
        sa.Column("outbox_message_id", _ID, nullable=True),
        sa.Column("to_msisdn", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
        sa.UniqueConstraint("outbox_message_id", name=op.f("uq_sms_messages_outbox_message_id")),
    )
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.create_index("ix_sms_messages_status", ["status", "id"], unique=False)

    op.create_table(
        "sms_parts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("sms_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("gateway_message_id", sa.String(length=65), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["sms_id"], ["sms_messages.id"], name=op.f("fk_sms_parts_sms_id_sms_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_parts")),
        sa.UniqueConstraint("gateway_message_id", name=op.f("uq_sms_parts_gateway_message_id")),
        sa.UniqueConstraint("sms_id", "seq", name="uq_sms_parts_sms_seq"),
    )


def downgrade() -> None:
    op.drop_table("sms_parts")
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_messages_status")
    op.drop_table("sms_messages")
