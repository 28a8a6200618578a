"""users carry a token version; failed logins are looked up by address

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 08:20:00

``users.token_version`` is signed into every token and compared on every request; bumping it
(password change, disabling the user, ``POST /api/v1/auth/logout-all``) revokes every token
issued before, in every worker. Existing users start at 0, which is what tokens issued before
this migration (without a version) are read as. ``ix_login_failures_ip_at`` serves the
per-address throttle.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("login_failures") as batch:
        batch.create_index("ix_login_failures_ip_at", ["ip", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_index("ix_login_failures_ip_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_version")
