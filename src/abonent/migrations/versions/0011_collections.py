"""collection agencies, hand-over assignments, write-off requests

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-01 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "collection_agencies",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("inn", sa.String(length=12), nullable=False),
        sa.Column("contacts", sa.String(length=500), nullable=False),
        sa.Column("export_format", sa.String(length=8), nullable=False),
        sa.Column("commission_bp", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_agencies")),
        sa.UniqueConstraint("inn", name=op.f("uq_collection_agencies_inn")),
    )
    t = "collection_assignments"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("agency_id", _ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handed_over_on", sa.Date(), nullable=False),
        sa.Column("recalled_on", sa.Date(), nullable=True),
        sa.Column("notice_due_on", sa.Date(), nullable=False),
        sa.Column("notice_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _fk(t, "account_id", "accounts"),
        _fk(t, "agency_id", "collection_agencies"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_account_id"), t, ["account_id"])
    op.create_index(op.f(f"ix_{t}_agency_id"), t, ["agency_id"])
    t = "collection_assignment_items"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("assignment_id", _ID, nullable=False),
        sa.Column("open_item_id", _ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _fk(t, "assignment_id", "collection_assignments"),
        _fk(t, "open_item_id", "open_items"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_assignment_id"), t, ["assignment_id"])
    op.create_index(
        "uq_collection_item_active",
        t,
        ["open_item_id"],
        unique=True,
        postgresql_where=sa.text("active"),
        sqlite_where=sa.text("active"),
    )
    t = "write_off_requests"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("approved_at", _TS, nullable=True),
        sa.Column("entry_id", _ID, nullable=True),
        _fk(t, "account_id", "accounts"),
        _fk(t, "entry_id", "journal_entries"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_account_id"), t, ["account_id"])


def downgrade() -> None:
    op.drop_table("write_off_requests")
    op.drop_table("collection_assignment_items")
    op.drop_table("collection_assignments")
    op.drop_table("collection_agencies")
