"""outbox.source: each part's content as data, so a part can be rendered again for a channel whose
URL was edited to another kind while it waited

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("source", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("source")
