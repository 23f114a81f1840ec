"""web_sign_ins, sign_in_links, wechat_bindings, wechat_codes: the web's sign-out generations,
mailed sign-in links and WeChat bindings, shared by every web process and kept across restarts
(the cookies' key is derived from the key file; the bindings were a JSON file each process read once)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 01:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sign_ins",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
    )
    op.create_table(
        "sign_in_links",
        sa.Column("token_fp", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sign_in_links_expires_at", "sign_in_links", ["expires_at"])
    op.create_table(
        "wechat_bindings",
        sa.Column("openid", sa.String(100), primary_key=True),
        sa.Column("account", sa.String(100), nullable=False),
    )
    op.create_index("ix_wechat_bindings_account", "wechat_bindings", ["account"])
    op.create_table(
        "wechat_codes",
        sa.Column("code", sa.String(6), primary_key=True),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("wechat_codes")
    op.drop_index("ix_wechat_bindings_account", table_name="wechat_bindings")
    op.drop_table("wechat_bindings")
    op.drop_index("ix_sign_in_links_expires_at", table_name="sign_in_links")
    op.drop_table("sign_in_links")
    op.drop_table("web_sign_ins")
