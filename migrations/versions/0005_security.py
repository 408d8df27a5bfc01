"""security round two: login attempts indexed by source address

Failed logins are now limited per source address as well as per account
(``clinic.accounts.login``); counting them by address needs this index.

Revision ID: 0005_security
Revises: 0001
"""

from alembic import op

revision = "0005_security"
down_revision = "0004_session_record"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_attempt_source_address_at", ["source_address", "at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_source_address_at")
