"""the subscriber's time zone on the account (and an unknown zone left unknown on the customer);
where the contact gate's zone came from; versioned notice templates

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 10:00:00

``customers.timezone`` was NOT NULL and filled with the operator's zone whenever staff gave
none, so a filled-in value cannot be told from a chosen one.  This migration makes it nullable
and clears the values that may have been filled in: 'Europe/Moscow' (the column's default) and
the zone of ``ABONENT_TIMEZONE`` as the deployment sets it when it migrates (the value
``create_customer`` filled in).  Any other value can only have been set on purpose and is kept.
The cost: a holder whose zone staff did set to one of those loses it, and the contact gate
takes the phone number's region instead (``docs/notices.md``, "Zone"); staff set it again with
``abonent account zone NUMBER --set ZONE``.  ``accounts.timezone`` is new and empty.

The downgrade puts the operator's zone back into the empty customer zones, as before.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_COLUMN_DEFAULT = "Europe/Moscow"


def _operator_zone() -> str:
    # Read as the settings read it (ABONENT_TIMEZONE), without importing the application.
    return os.environ.get("ABONENT_TIMEZONE") or _COLUMN_DEFAULT


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.alter_column("timezone", existing_type=sa.String(length=64), nullable=True)
    customers = sa.table("customers", sa.column("timezone", sa.String(64)))
    op.execute(
        customers.update()
        .where(customers.c.timezone.in_(sorted({_COLUMN_DEFAULT, _operator_zone()})))
        .values(timezone=None)
    )
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("contact_log") as batch:
        batch.add_column(sa.Column("zone_source", sa.String(length=16), nullable=True))
    t = "notice_templates"
    op.create_table(
        t,
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("seal", sa.String(length=64), nullable=False),
        sa.Column("saved_by", sa.String(length=128), nullable=False),
        sa.Column("saved_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("kind", "version", name=op.f("uq_notice_templates_kind_version")),
    )


def downgrade() -> None:
    op.drop_table("notice_templates")
    with op.batch_alter_table("contact_log") as batch:
        batch.drop_column("zone_source")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("timezone")
    customers = sa.table("customers", sa.column("timezone", sa.String(64)))
    op.execute(
        customers.update().where(customers.c.timezone.is_(None)).values(timezone=_operator_zone())
    )
    with op.batch_alter_table("customers") as batch:
        batch.alter_column("timezone", existing_type=sa.String(length=64), nullable=False)
