"""campus: when an account's timetable (course list) was last read from the school; how far a
school's fast-detection checks are booked ahead; enrolments looked up by course

Revision ID: 0005c
Revises: 0003
Create Date: 2026-12-02 05:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005c"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("courses_fetched_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("school_state") as batch:
        batch.add_column(sa.Column("expedite_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_enrolments_course", "enrolments", ["school", "term", "course_code"])


def downgrade() -> None:
    op.drop_index("ix_enrolments_course", table_name="enrolments")
    with op.batch_alter_table("school_state") as batch:
        batch.drop_column("expedite_until")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("courses_fetched_at")
