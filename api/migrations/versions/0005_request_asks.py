"""requests carry the plan's asks per addressee, whether a re-plan outdated them, their plan

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:40:00

``requests.asks`` is ``[{"commune", "quantity"}]``, what the plan asks of each addressee
(``[]`` for a hand-made request); ``requests.outdated`` is set by a re-plan that no longer asks
an addressee or can no longer reach one, ``requests.unreachable`` lists the addressees cut off
(they may no longer offer), ``requests.plan_id`` the plan the request was made from. Existing
rows stay valid: no asks, not outdated, no plan.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("asks", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("outdated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("unreachable", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("plan_id")
        batch.drop_column("unreachable")
        batch.drop_column("outdated")
        batch.drop_column("asks")
