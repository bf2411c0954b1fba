"""subscriber login codes, sessions and throttle counters

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscriber_login_codes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("used_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber_login_codes")),
    )
    op.create_index(
        "ix_subscriber_login_codes_msisdn", "subscriber_login_codes", ["msisdn", "created_at"]
    )
    op.create_table(
        "subscriber_sessions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("msisdn", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("access_hash", sa.String(length=64), nullable=False),
        sa.Column("access_expires_at", _AT, nullable=False),
        sa.Column("refresh_hash", sa.String(length=64), nullable=False),
        sa.Column("previous_refresh_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", _AT, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("last_seen_at", _AT, nullable=False),
        sa.Column("revoked_at", _AT, nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_subscriber_sessions_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber_sessions")),
        sa.UniqueConstraint("access_hash", name=op.f("uq_subscriber_sessions_access_hash")),
        sa.UniqueConstraint("refresh_hash", name=op.f("uq_subscriber_sessions_refresh_hash")),
    )
    op.create_index("ix_subscriber_sessions_customer", "subscriber_sessions", ["customer_id"])
    op.create_index(
        op.f("ix_subscriber_sessions_previous_refresh_hash"),
        "subscriber_sessions",
        ["previous_refresh_hash"],
    )
    op.create_table(
        "throttle_hits",
        sa.Column("id", _ID, nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttle_hits")),
    )
    op.create_index("ix_throttle_hits_key_at", "throttle_hits", ["key", "at"])


def downgrade() -> None:
    op.drop_table("throttle_hits")
    op.drop_table("subscriber_sessions")
    op.drop_table("subscriber_login_codes")
