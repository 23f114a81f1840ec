"""wechat_replays and wechat_bind_tries: WeChat's signed URLs already seen and the 绑定 tries per
user, shared by every web process answering /wechat

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 02:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_replays",
        sa.Column("timestamp", sa.String(20), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("from_user", sa.String(100), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_wechat_replays_seen_at", "wechat_replays", ["seen_at"])
    op.create_table(
        "wechat_bind_tries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("openid", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_wechat_bind_tries_openid", "wechat_bind_tries", ["openid"])
    op.create_index("ix_wechat_bind_tries_at", "wechat_bind_tries", ["at"])


def downgrade() -> None:
    op.drop_index("ix_wechat_bind_tries_at", table_name="wechat_bind_tries")
    op.drop_index("ix_wechat_bind_tries_openid", table_name="wechat_bind_tries")
    op.drop_table("wechat_bind_tries")
    op.drop_index("ix_wechat_replays_seen_at", table_name="wechat_replays")
    op.drop_table("wechat_replays")
