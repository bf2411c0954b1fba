"""contact gate (blocks, queue, decision log), debt notices, suspicious-SMS reports

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    t = "contact_blocks"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.Column("from_at", _TS, nullable=False),
        sa.Column("until_at", _TS, nullable=True),
        sa.Column("lifted_at", _TS, nullable=True),
        sa.Column("lifted_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        _fk(t, "customer_id", "customers"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_customer_id"), t, ["customer_id"])
    t = "contact_messages"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("to_msisdn", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("not_before", _TS, nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("outbox_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        _fk(t, "customer_id", "customers"),
        _fk(t, "account_id", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("key", name=op.f(f"uq_{t}_key")),
    )
    op.create_index(op.f(f"ix_{t}_customer_id"), t, ["customer_id"])
    op.create_index(op.f(f"ix_{t}_account_id"), t, ["account_id"])
    op.create_index("ix_contact_messages_due", t, ["status", "not_before"])
    t = "contact_log"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=True),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("next_at", _TS, nullable=True),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        _fk(t, "message_id", "contact_messages"),
        _fk(t, "customer_id", "customers"),
        _fk(t, "account_id", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_message_id"), t, ["message_id"])
    op.create_index(op.f(f"ix_{t}_account_id"), t, ["account_id"])
    op.create_index("ix_contact_log_customer_at", t, ["customer_id", "at"])
    t = "debt_notices"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("contact_message_id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("services", sa.String(length=255), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("outbox_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        _fk(t, "contact_message_id", "contact_messages"),
        _fk(t, "account_id", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("contact_message_id", name=op.f(f"uq_{t}_contact_message_id")),
        sa.UniqueConstraint("code_hash", name=op.f(f"uq_{t}_code_hash")),
    )
    op.create_index(op.f(f"ix_{t}_account_id"), t, ["account_id"])
    t = "suspicious_sms_reports"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reported_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_sender"), t, ["sender"])


def downgrade() -> None:
    op.drop_table("suspicious_sms_reports")
    op.drop_table("debt_notices")
    op.drop_table("contact_log")
    op.drop_table("contact_messages")
    op.drop_table("contact_blocks")
