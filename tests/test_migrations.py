"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clinic.extensions import db
from clinic.models import Base


def test_migrated_database_matches_the_models(app):
    # The app fixture's database was built by `upgrade` from empty (see conftest).
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() is not None
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


@pytest.mark.postgres_only
def test_postgresql_has_the_double_booking_exclusion_constraints(app):
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        names = set(
            db.session.scalars(
                sa.text(
                    "SELECT conname FROM pg_constraint WHERE contype = 'x' "
                    "AND conrelid = 'appointment'::regclass"
                )
            )
        )
    assert names == {"ex_appointment_chair_busy", "ex_appointment_patient_busy"}


def test_downgrade_then_upgrade_round_trips(app):
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        downgrade(revision="base")
        assert "appointment" not in sa.inspect(db.engine).get_table_names()
        upgrade()
        assert "appointment" in sa.inspect(db.engine).get_table_names()
