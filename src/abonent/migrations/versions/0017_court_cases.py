"""court cases (the court-order package's snapshot, stages recorded by hand); the collection
agency as a payment agent of kind 'collection'

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    with op.batch_alter_table("payment_agents") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), server_default="payment", nullable=False)
        )
    with op.batch_alter_table("collection_agencies") as batch:
        batch.add_column(sa.Column("agent_id", _ID, nullable=True))
        batch.create_unique_constraint(op.f("uq_collection_agencies_agent_id"), ["agent_id"])
        batch.create_foreign_key(
            op.f("fk_collection_agencies_agent_id_payment_agents"),
            "payment_agents",
            ["agent_id"],
            ["id"],
        )
    t = "court_cases"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("claim_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("time_barred_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        _fk(t, "account_id", "accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_account_id"), t, ["account_id"])
    t = "court_case_lines"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("open_item_id", _ID, nullable=False),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("owed_minor", sa.BigInteger(), nullable=False),
        sa.Column("part", sa.String(length=16), nullable=False),
        _fk(t, "case_id", "court_cases"),
        _fk(t, "open_item_id", "open_items"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_case_id"), t, ["case_id"])
    t = "court_stage_events"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _fk(t, "case_id", "court_cases"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_case_id"), t, ["case_id"])


def downgrade() -> None:
    op.drop_table("court_stage_events")
    op.drop_table("court_case_lines")
    op.drop_table("court_cases")
    with op.batch_alter_table("collection_agencies") as batch:
        batch.drop_constraint(
            op.f("fk_collection_agencies_agent_id_payment_agents"), type_="foreignkey"
        )
        batch.drop_constraint(op.f("uq_collection_agencies_agent_id"), type_="unique")
        batch.drop_column("agent_id")
    with op.batch_alter_table("payment_agents") as batch:
        batch.drop_column("kind")
