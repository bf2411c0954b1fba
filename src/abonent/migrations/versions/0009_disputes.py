"""disputes against charges, their items and evidence files

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("filed_by", sa.String(length=128), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("answer_due_on", sa.Date(), nullable=False),
        sa.Column("international", sa.Boolean(), nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=True),
        sa.Column("resolution_text", sa.Text(), nullable=True),
        sa.Column("accepted_minor", sa.BigInteger(), nullable=True),
        sa.Column("credit_entry_id", _ID, nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("disputes", "account_id", "accounts"),
        _fk("disputes", "credit_entry_id", "journal_entries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    op.create_index("ix_disputes_status_due", "disputes", ["status", "answer_due_on"])
    op.create_index("ix_disputes_account", "disputes", ["account_id", "id"])
    op.create_table(
        "dispute_items",
        sa.Column("id", _ID, nullable=False),
        sa.Column("dispute_id", _ID, nullable=False),
        sa.Column("open_item_id", _ID, nullable=False),
        sa.Column("claimed_minor", sa.BigInteger(), nullable=False),
        sa.Column("accepted_minor", sa.BigInteger(), nullable=True),
        _fk("dispute_items", "dispute_id", "disputes"),
        _fk("dispute_items", "open_item_id", "open_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_items")),
        sa.UniqueConstraint("dispute_id", "open_item_id", name=op.f("uq_dispute_items_dispute_id")),
    )
    op.create_index("ix_dispute_items_dispute_id", "dispute_items", ["dispute_id"])
    op.create_index("ix_dispute_items_open_item_id", "dispute_items", ["open_item_id"])
    op.create_table(
        "dispute_evidence",
        sa.Column("id", _ID, nullable=False),
        sa.Column("dispute_id", _ID, nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("dispute_evidence", "dispute_id", "disputes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_evidence")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_dispute_evidence_stored_name")),
    )
    op.create_index("ix_dispute_evidence_dispute_id", "dispute_evidence", ["dispute_id"])
    op.create_table(
        "written_requests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("filed_by", sa.String(length=128), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("answer_pdf", sa.LargeBinary(), nullable=True),
        sa.Column("answered_by", sa.String(length=128), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("written_requests", "account_id", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_written_requests")),
    )
    op.create_index("ix_written_requests_queue", "written_requests", ["status", "due_on"])
    op.create_index("ix_written_requests_account", "written_requests", ["account_id", "id"])


def downgrade() -> None:
    op.drop_table("written_requests")
    op.drop_table("dispute_evidence")
    op.drop_table("dispute_items")
    op.drop_table("disputes")
