"""captcha tries per check: how many captcha answers the login submitted and whether the first was
accepted, for the dashboard's first-try accuracy per school

Revision ID: 0006
Revises: 0005c
Create Date: 2026-12-02 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checks") as batch:
        batch.add_column(sa.Column("captcha_answers", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("captcha_first_ok", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checks") as batch:
        batch.drop_column("captcha_first_ok")
        batch.drop_column("captcha_answers")
