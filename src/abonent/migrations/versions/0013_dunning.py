"""the dunning ladder as data, the items on it and the steps done

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

# The default ladder, version 1: the same as src/abonent/dunning/default_ladder.toml (a test
# compares them). Frozen here: a later change of the file is loaded as a new version.
_DEFAULT_STEPS = [
    # (name, action, offset_days, service_kind)
    ("remind", "remind", -3, None),
    ("notice_1", "notice_1", 1, None),
    ("notice_2", "notice_2", 10, None),
    ("suspend", "suspend_service", 20, None),
    ("suspend", "suspend_service", 30, "tv"),
    ("hand_over", "hand_over", 60, None),
    ("court_package", "court_package", 120, None),
    ("write_off", "write_off", 365, None),
]


def _fk(table: str, column: str, target: str, key: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.{key}"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    ladders = op.create_table(
        "dunning_ladders",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("loaded_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_ladders")),
    )
    t = "dunning_steps"
    steps = op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("ladder_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("service_kind", sa.String(length=16), nullable=True),
        sa.Column("agency_inn", sa.String(length=12), nullable=True),
        _fk(t, "ladder_id", "dunning_ladders"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("ladder_id", "name", "service_kind", name=op.f(f"uq_{t}_ladder_id")),
    )
    t = "dunning_items"
    op.create_table(
        t,
        sa.Column("open_item_id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("ladder_id", _ID, nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        _fk(t, "open_item_id", "open_items"),
        _fk(t, "ladder_id", "dunning_ladders"),
        sa.PrimaryKeyConstraint("open_item_id", name=op.f(f"pk_{t}")),
    )
    op.create_index("ix_dunning_items_account", t, ["account_id"])
    t = "dunning_progress"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("open_item_id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("ladder_id", _ID, nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        _fk(t, "open_item_id", "open_items"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("open_item_id", "step", name=op.f(f"uq_{t}_open_item_id")),
    )
    op.create_index("ix_dunning_progress_account", t, ["account_id"])
    op.bulk_insert(
        ladders,
        [
            {
                "id": 1,
                "name": "default",
                "source": "migration 0013 (default)",
                "actor": "system",
                "loaded_at": dt.datetime(2026, 12, 2, tzinfo=dt.UTC),
            }
        ],
    )
    op.bulk_insert(
        steps,
        [
            {
                "ladder_id": 1,
                "name": name,
                "action": action,
                "offset_days": offset,
                "service_kind": kind,
                "agency_inn": None,
            }
            for name, action, offset, kind in _DEFAULT_STEPS
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        # The explicit id 1 did not move the sequence: the next load must be version 2.
        op.execute("SELECT setval('dunning_ladders_id_seq', 1)")


def downgrade() -> None:
    op.drop_table("dunning_progress")
    op.drop_table("dunning_items")
    op.drop_table("dunning_steps")
    op.drop_table("dunning_ladders")
