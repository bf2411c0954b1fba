"""agents' saved registry formats

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_registry_formats",
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["payment_agents.id"],
            name=op.f("fk_agent_registry_formats_agent_id_payment_agents"),
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agent_registry_formats")),
    )


def downgrade() -> None:
    op.drop_table("agent_registry_formats")
