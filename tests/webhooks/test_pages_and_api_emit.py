"""The web pages and the JSON API go through the same services, so both emit; and the worker
job delivers what they wrote."""

from __future__ import annotations

import sqlalchemy as sa

from clinic import jobs
from clinic.accounts.tokens import create_token
from clinic.audit import SYSTEM
from clinic.extensions import db
from clinic.models import WebhookEvent
from tests.builders import NOW, make_user
from tests.webhooks.conftest import register

PATIENT = {
    "mrn": "MRN-7001",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1985-12-10",
    "email_opt_in": "y",
}


def patient_events(app):
    with app.app_context():
        return [
            (e.type, e.resource_id, e.resource_version)
            for e in db.session.scalars(sa.select(WebhookEvent).order_by(WebhookEvent.id))
        ]


def test_a_patient_registered_on_the_page_and_changed_through_the_api_is_delivered(
    app, client, login, clock, receiver
):
    with app.app_context():
        register(db.session, app, receiver.url)
        make_user(db.session, "api-desk", "receptionist")
        token = create_token(db.session, username="api-desk", actor=SYSTEM, now=NOW).plain
    login("receptionist")
    assert client.post("/patients/new", data=PATIENT).status_code == 302
    [(_, patient_id, _)] = patient_events(app)
    response = client.patch(
        f"/api/v1/patients/{patient_id}",
        json={"family_name": "King"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert patient_events(app) == [
        ("patient.created", patient_id, 1),
        ("patient.updated", patient_id, 2),
    ]
    jobs.deliver_webhooks(app)  # what the worker runs
    assert [(e["type"], e["resource"]["version"]) for e in receiver.events()] == [
        ("patient.created", 1),
        ("patient.updated", 2),
    ]
    assert all(r.signed for r in receiver.received)
