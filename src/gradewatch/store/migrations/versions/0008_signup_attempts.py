"""signup_attempts: the web sign-up's real logins at the school and the passwords the school refused,
shared by every web process and kept across restarts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 01:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

IN_FLIGHT = sa.text("finished_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "signup_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refused_fp", sa.String(64), nullable=True),
    )
    op.create_index("ix_signup_attempts_name", "signup_attempts", ["name"])
    op.create_index("ux_signup_attempts_in_flight", "signup_attempts", ["name"], unique=True,
                    sqlite_where=IN_FLIGHT, postgresql_where=IN_FLIGHT)


def downgrade() -> None:
    op.drop_index("ux_signup_attempts_in_flight", table_name="signup_attempts")
    op.drop_index("ix_signup_attempts_name", table_name="signup_attempts")
    op.drop_table("signup_attempts")
