"""situation reports; incidents reported by a commune wait for the command's confirmation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:40:00

``situation_reports`` keeps every report a commune (or its command) sends about an incident:
displaced people, houses flooded and collapsed, isolation, explicit needs and a note, with its
author and time; nothing is overwritten (the plan uses each commune's latest).
``incidents.confirmed`` is false for an incident a commune leader reported until the command
confirms (or corrects) its risk level; existing incidents were declared by a command: true.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "situation_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("commune_code", sa.String(5), nullable=False),
        sa.Column("displaced", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("houses_flooded", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("houses_collapsed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("isolated", sa.String(16), nullable=True),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_situation_reports_incident_commune",
        "situation_reports",
        ["incident_id", "commune_code"],
    )
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("confirmed", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("confirmed")
    op.drop_index("ix_situation_reports_incident_commune", table_name="situation_reports")
    op.drop_table("situation_reports")
