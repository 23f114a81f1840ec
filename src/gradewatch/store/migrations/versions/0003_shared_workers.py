"""shared work: check schedule and login intent in the database, outbox claims and parts,
per-school state, enrolments, channel health, accounts defined in the database

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 05:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("lease_owner", type_=sa.String(length=255), existing_type=sa.String(length=64))
        batch.add_column(sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("login_attempt_fp", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("login_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failed_checks", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("source", sa.String(length=10), nullable=False, server_default="config"))
        batch.add_column(sa.Column("notify_urls", sa.LargeBinary(), nullable=True))
        batch.create_index("ix_accounts_next_check_at", ["next_check_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=100), nullable=False, server_default=""))
        batch.add_column(sa.Column("part", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("parts", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("claimed_by", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("claim_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "school_state",
        sa.Column("school", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("backoff_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_requests", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("school"),
    )
    op.create_table(
        "enrolments",
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("term", sa.String(length=40), nullable=False),
        sa.Column("course_code", sa.String(length=100), nullable=False),
        sa.Column("school", sa.String(length=100), nullable=False),
        sa.Column("course_name", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "term", "course_code"),
    )
    op.create_index("ix_enrolments_school", "enrolments", ["school"])
    op.create_table(
        "channel_state",
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "channel"),
    )


def downgrade() -> None:
    op.drop_table("channel_state")
    op.drop_index("ix_enrolments_school", table_name="enrolments")
    op.drop_table("enrolments")
    op.drop_table("school_state")
    with op.batch_alter_table("outbox") as batch:
        for col in ("claim_until", "claimed_by", "parts", "part", "channel"):
            batch.drop_column(col)
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_next_check_at")
        for col in ("notify_urls", "source", "failed_checks", "login_attempt_at", "login_attempt_fp", "next_check_at"):
            batch.drop_column(col)
        batch.alter_column("lease_owner", type_=sa.String(length=64), existing_type=sa.String(length=255))
