"""dose spacing across a patient's sessions, a series' planned spacing, API idempotency keys

Revision ID: 0003_dose_spacing
Revises: 0001

- ``treatment_type.min_hours_between_doses``: existing types get the shipped defaults by
  route (nasal esketamine 48 h, IV 24 h; see ``clinic.catalog`` for why).
- ``series.min_hours_between``: an existing series gets its protocol's spacing; a custom
  series (no protocol) gets 24 h, the custom plan's default and the IV induction's spacing:
  the spacing it was planned with was not stored, and 24 h is what nearly every one had.
- ``idempotency_key``: the API's stored answers to retried writes.

SQLite: columns are added with ``ALTER TABLE ADD COLUMN`` and their CHECK inline (a batch
rebuild of a table other rows reference would fail with foreign keys enforced).
"""

from alembic import op
import sqlalchemy as sa

revision = "0003_dose_spacing"
down_revision = "0001"
branch_labels = None
depends_on = None

DOSE_CHECK = "min_hours_between_doses >= 0 AND min_hours_between_doses <= 672"
SERIES_CHECK = "min_hours_between >= 0"


def _add_checked_column(table: str, column: str, check_name: str, check: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER DEFAULT '24' NOT NULL "
            f"CONSTRAINT {check_name} CHECK ({check})"
        )
        return
    op.add_column(table, sa.Column(column, sa.Integer(), server_default="24", nullable=False))
    op.create_check_constraint(check_name, table, check)


def _drop_column(table: str, column: str, check_name: str) -> None:
    # Batch mode on SQLite: a later migration's batch rebuild may have turned the column's
    # CHECK into a table constraint, which a plain DROP COLUMN refuses.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite rebuilds the table; its CHECKs on the column (reflected under whatever name
        # an earlier rebuild left them) must go with it.
        checks = [
            check["name"]
            for check in sa.inspect(bind).get_check_constraints(table)
            if column in check["sqltext"] and check["name"]
        ]
        with op.batch_alter_table(table, recreate="always") as batch_op:
            for name in checks:
                batch_op.drop_constraint(op.f(name), type_="check")
            batch_op.drop_column(column)
        return
    op.drop_constraint(check_name, table, type_="check")
    op.drop_column(table, column)


def upgrade():
    _add_checked_column(
        "treatment_type",
        "min_hours_between_doses",
        "ck_treatment_type_dose_spacing_range",
        DOSE_CHECK,
    )
    op.execute("UPDATE treatment_type SET min_hours_between_doses = 48 WHERE route = 'nasal'")
    _add_checked_column(
        "series", "min_hours_between", "ck_series_spacing_non_negative", SERIES_CHECK
    )
    op.execute(
        "UPDATE series SET min_hours_between = COALESCE("
        "(SELECT protocol.min_hours_between FROM protocol WHERE protocol.id = series.protocol_id),"
        " 24)"
    )

    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_type", sa.String(length=100), nullable=True),
        sa.Column("response_location", sa.String(length=500), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_idempotency_key_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_key_user_key"),
    )
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_key_expires_at", ["expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_key_expires_at")
    op.drop_table("idempotency_key")
    _drop_column("series", "min_hours_between", "ck_series_spacing_non_negative")
    _drop_column(
        "treatment_type", "min_hours_between_doses", "ck_treatment_type_dose_spacing_range"
    )
