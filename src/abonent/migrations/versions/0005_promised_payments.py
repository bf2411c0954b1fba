"""promised payments and USSD sessions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_IN_FORCE = sa.text("status = 'in_force'")


def upgrade() -> None:
    op.create_table(
        "ussd_sessions",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("service_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_ussd_sessions")),
    )
    op.create_index("ix_ussd_sessions_updated", "ussd_sessions", ["updated_at"])

    def ref(column: str, table: str) -> sa.ForeignKeyConstraint:
        return sa.ForeignKeyConstraint(
            [column], [f"{table}.id"], name=op.f(f"fk_promised_payments_{column}_{table}")
        )

    op.create_table(
        "promised_payments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credit_entry_id", _ID, nullable=True),
        sa.Column("repayment_entry_id", _ID, nullable=True),
        sa.Column("repayment_item_id", _ID, nullable=True),
        sa.Column("fee_entry_id", _ID, nullable=True),
        sa.Column("fee_item_id", _ID, nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        ref("account_id", "accounts"),
        ref("credit_entry_id", "journal_entries"),
        ref("fee_entry_id", "journal_entries"),
        ref("fee_item_id", "open_items"),
        ref("repayment_entry_id", "journal_entries"),
        ref("repayment_item_id", "open_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promised_payments")),
    )
    op.create_index("ix_promised_payments_account", "promised_payments", ["account_id", "taken_at"])
    op.create_index("ix_promised_payments_status", "promised_payments", ["status", "expires_at"])
    op.create_index(
        "uq_promised_payments_in_force",
        "promised_payments",
        ["account_id"],
        unique=True,
        postgresql_where=_IN_FORCE,
        sqlite_where=_IN_FORCE,
    )


def downgrade() -> None:
    op.drop_table("promised_payments")
    op.drop_table("ussd_sessions")
