"""front desk: a folded search column on patients, public-holiday regions on locations

Revision ID: 0008_desk
Revises: 0007_two_factor

- ``patient.search_text``: names, MRN, phone digits and email, lower case without accents,
  so "nunez" finds "Núñez" and "rivera" finds "Lopez-Rivera" (``clinic.models.patient``
  keeps it on every write; existing rows are filled here with the same folding).
  PostgreSQL indexes it with trigrams (``pg_trgm``, a trusted extension the database owner
  may create) so a match anywhere in the text stays fast; SQLite gets a plain index.
- ``location.holiday_country`` / ``holiday_subdivision``: which public holidays an admin
  may load as closures (ISO 3166 codes, as the ``holidays`` library names them).

SQLite: columns are added with ``ALTER TABLE ADD COLUMN`` and dropped with ``DROP COLUMN``
(SQLite 3.35+), never by a batch rebuild of tables other rows reference.
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0008_desk"
down_revision = "0007_two_factor"
branch_labels = None
depends_on = None

# clinic.text.fold as it was when this migration was written (a migration must not change
# when the app's code does).
_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"}
)


def _fold(text: str) -> str:
    bare = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    return bare.casefold().translate(_UNDECOMPOSED)


def _search_text(given, family, mrn, phone, email) -> str:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return _fold(" ".join(part for part in (given, family, mrn, digits, email) if part))


def upgrade():
    bind = op.get_bind()
    op.add_column("patient", sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    op.add_column("location", sa.Column("holiday_country", sa.String(length=2), nullable=True))
    op.add_column("location", sa.Column("holiday_subdivision", sa.String(length=10), nullable=True))

    patient = sa.table(
        "patient",
        sa.column("id", sa.Integer),
        sa.column("given_name", sa.String),
        sa.column("family_name", sa.String),
        sa.column("mrn", sa.String),
        sa.column("phone", sa.String),
        sa.column("email", sa.String),
        sa.column("search_text", sa.Text),
    )
    rows = bind.execute(
        sa.select(
            patient.c.id,
            patient.c.given_name,
            patient.c.family_name,
            patient.c.mrn,
            patient.c.phone,
            patient.c.email,
        )
    ).all()
    if rows:
        bind.execute(
            patient.update()
            .where(patient.c.id == sa.bindparam("row_id"))
            .values(search_text=sa.bindparam("text")),
            [{"row_id": row[0], "text": _search_text(*row[1:])} for row in rows],
        )

    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_patient_search_text",
        "patient",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )


def downgrade():
    # pg_trgm stays: dropping an extension could take other databases' objects with it.
    op.drop_index("ix_patient_search_text", table_name="patient")
    if op.get_bind().dialect.name == "sqlite":
        for table, column in (
            ("location", "holiday_subdivision"),
            ("location", "holiday_country"),
            ("patient", "search_text"),
        ):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        return
    op.drop_column("location", "holiday_subdivision")
    op.drop_column("location", "holiday_country")
    op.drop_column("patient", "search_text")
