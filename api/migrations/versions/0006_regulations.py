"""coordination regulations (versioned), their activations, exercises, requests' source

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:40:00

``regulation_versions`` keeps every version of a regulation (edit, sign, retire each add one);
``regulation_activations`` records each box card or backfill notice fired for an incident
(unique per incident, regulation, kind, level and card, so nothing fires twice).
``incidents.exercise`` marks a drill; ``requests.source`` / ``requests.regulation_id`` name
what made a request. Existing rows: not an exercise, no source.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regulation_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("regulation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("regulation_id", "version"),
    )
    op.create_index(
        "ix_regulation_versions_regulation_id", "regulation_versions", ["regulation_id"]
    )
    op.create_table(
        "regulation_activations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("regulation_id", sa.Integer(), nullable=False),
        sa.Column("regulation_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(64), nullable=False),
        sa.Column("giver", sa.String(5), nullable=False),
        sa.Column("receiver", sa.String(5), nullable=False),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("requests.id"), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "incident_id", "regulation_id", "kind", "level", "position", "resource"
        ),
    )
    op.create_index(
        "ix_regulation_activations_incident_id", "regulation_activations", ["incident_id"]
    )
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("exercise", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=True))
        batch.add_column(sa.Column("regulation_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("card", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("card")
        batch.drop_column("regulation_id")
        batch.drop_column("source")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("exercise")
    op.drop_index("ix_regulation_activations_incident_id", "regulation_activations")
    op.drop_table("regulation_activations")
    op.drop_index("ix_regulation_versions_regulation_id", "regulation_versions")
    op.drop_table("regulation_versions")
