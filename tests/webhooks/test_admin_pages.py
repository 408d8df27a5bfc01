"""Admin → Webhooks: login and the role's permission, CSRF, the secret shown once, refusals
that change nothing, the delivery log with "send again", and the audit trail."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from clinic import jobs
from clinic.extensions import db
from clinic.models import AuditEvent, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from clinic.webhooks import EventType, emit
from tests.builders import NOW, MinimalClinic, audit_actions
from tests.unit.querycount import recorded_statements
from tests.webhooks.conftest import register

URL = "http://127.0.0.1:8999/hooks"


@pytest.fixture(autouse=True)
def fixed_clock(clock):
    return clock


def form(**fields):
    return {
        "name": "EHR",
        "url": URL,
        "event_types": ["appointment.booked", "patient.created"],
        "secret": "",
        **fields,
    }


def endpoints_in(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(WebhookEndpoint)).all()
        db.session.expunge_all()
        return rows


def test_the_pages_need_a_login_and_the_admin_role(app, client, login):
    assert client.get("/admin/webhooks").status_code == 302
    for role in ("receptionist", "nurse"):
        login(role)
        assert client.get("/admin/webhooks").status_code == 403
        assert client.post("/admin/webhooks", data=form()).status_code == 403
    assert endpoints_in(app) == []


def test_registering_shows_the_secret_once_and_keeps_it_encrypted(app, client, login):
    login("admin")
    response = client.post("/admin/webhooks", data=form())
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    secret = re.search(r'value="(whsec_[^"]+)"', html).group(1)
    [endpoint] = endpoints_in(app)
    assert endpoint.url == URL and endpoint.event_types == ["appointment.booked", "patient.created"]
    assert secret not in endpoint.secret_encrypted and endpoint.secret_hint == secret[:10]
    assert secret not in client.get("/admin/webhooks").get_data(as_text=True)
    later = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert secret not in later and secret[:10] in later
    with app.app_context():
        row = db.session.scalar(sa.select(AuditEvent).filter_by(action="webhook.create"))
        assert row.username == "admin-user" and "127.0.0.1" in row.summary
        assert "hooks" not in row.summary  # the host only: a path or query may hold a key


def test_a_post_without_its_csrf_token_is_refused(app, client, login):
    login("admin")
    assert client.post("/admin/webhooks", data=form(), csrf=False).status_code == 400
    assert endpoints_in(app) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"event_types": []}, "Choose at least one event."),
        ({"event_types": ["appointment.exploded"]}, "Choose"),
        ({"url": "not a url"}, "must start with"),
        ({"name": ""}, "Give the endpoint a name"),
        ({"secret": "short"}, "characters long"),
    ],
)
def test_bad_input_says_what_to_fix_and_saves_nothing(app, client, login, fields, message):
    login("admin")
    response = client.post("/admin/webhooks", data=form(**fields))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert endpoints_in(app) == []


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/x", "https://169.254.169.254/x", "https://[::1]/x", "http://10.0.0.2/"],
)
def test_private_addresses_are_refused_unless_the_configuration_allows_them(
    app, client, login, url
):
    app.config["WEBHOOKS_ALLOW_PRIVATE_ADDRESSES"] = False
    login("admin")
    response = client.post("/admin/webhooks", data=form(url=url))
    assert response.status_code == 422
    assert "public addresses only" in response.get_data(as_text=True)
    assert endpoints_in(app) == []


def test_production_accepts_https_only(app, client, login):
    app.config["PRODUCTION"] = True
    login("admin")
    response = client.post("/admin/webhooks", data=form(url="http://ehr.example.org/hooks"))
    assert response.status_code == 422 and "must start with https://" in response.get_data(
        as_text=True
    )


def with_log(app, deliveries: int) -> int:
    """An endpoint with ``deliveries`` deliveries, the first one failed; its id."""
    with app.app_context():
        session = db.session
        endpoint_id = register(session, app, URL)
        clinic = MinimalClinic(session)
        appointment = clinic.appointment(clinic.patient(), NOW)
        for _ in range(deliveries):
            emit(session, EventType.APPOINTMENT_BOOKED, appointment, now=NOW)
        session.commit()
        session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .values(status=DeliveryStatus.DELIVERED, attempts=1)
        )
        first = session.scalar(
            sa.select(sa.func.min(WebhookDelivery.id)).filter_by(endpoint_id=endpoint_id)
        )
        session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id == first)
            .values(status=DeliveryStatus.FAILED, attempts=8, last_error="HTTP 500 from it.")
        )
        session.commit()
        return endpoint_id


def test_the_log_offers_send_again_which_requeues_and_is_audited(app, client, login):
    endpoint_id = with_log(app, 3)
    login("admin")
    html = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert html.count(">Send again<") == 3 and "HTTP 500 from it." in html
    with app.app_context():
        first = db.session.scalar(sa.select(sa.func.min(WebhookDelivery.id)))
    assert client.post(f"/admin/webhook-deliveries/{first}/resend", csrf=False).status_code == 400
    response = client.post(f"/admin/webhook-deliveries/{first}/resend")
    assert response.status_code == 302
    with app.app_context():
        again = db.session.get(WebhookDelivery, first)
        assert (again.status, again.attempts, again.due_at) == (DeliveryStatus.PENDING, 0, NOW)
    assert "webhook.resend" in audit_actions(app)
    # Already queued: said so, nothing changes.
    client.post(f"/admin/webhook-deliveries/{first}/resend")
    assert audit_actions(app).count("webhook.resend") == 1


def test_the_endpoint_page_sends_the_same_queries_for_a_short_or_a_long_log(app, client, login):
    short, long = with_log(app, 2), with_log(app, 40)
    login("admin")
    counts = []
    for endpoint_id in (short, long):
        with app.app_context(), recorded_statements(db.engine) as statements:
            assert client.get(f"/admin/webhooks/{endpoint_id}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]
    with app.app_context(), recorded_statements(db.engine) as statements:
        assert client.get("/admin/webhooks").status_code == 200
    assert len(statements) <= counts[0]


def test_edit_pause_new_secret_and_remove(app, client, login):
    login("admin")
    client.post("/admin/webhooks", data=form())
    [endpoint] = endpoints_in(app)
    page = f"/admin/webhooks/{endpoint.id}"
    response = client.post(
        page, data={"name": "EHR sync", "url": URL, "event_types": ["patient.updated"]}
    )
    assert response.status_code == 302
    [saved] = endpoints_in(app)
    assert (saved.name, saved.active, saved.event_types) == ("EHR sync", False, ["patient.updated"])

    response = client.post(f"{page}/secret", data={"secret": "my-own-secret-of-thirty-chars!!"})
    assert response.status_code == 200
    assert 'value="my-own-secret-of-thirty-chars!!"' in response.get_data(as_text=True)
    assert "my-own-secret-of-thirty-chars!!" not in client.get(page).get_data(as_text=True)

    assert client.post(f"{page}/delete").status_code == 302
    assert endpoints_in(app) == []
    assert client.get(page).status_code == 404
    assert [a for a in audit_actions(app) if a.startswith("webhook.")] == [
        "webhook.create",
        "webhook.update",
        "webhook.secret",
        "webhook.delete",
    ]


def test_the_admin_nav_links_the_webhooks_page(client, login):
    login("admin")
    assert 'href="/admin/webhooks"' in client.get("/admin/users").get_data(as_text=True)


def test_the_log_lists_each_attempt(app, client, login, clock, receiver):
    with app.app_context():
        endpoint_id = register(db.session, app, receiver.url)
        clinic = MinimalClinic(db.session)
        emit(
            db.session,
            EventType.APPOINTMENT_BOOKED,
            clinic.appointment(clinic.patient(), NOW),
            now=NOW,
        )
        db.session.commit()
    receiver.answers = [503]
    jobs.deliver_webhooks(app)
    clock.advance(dt.timedelta(seconds=30))
    jobs.deliver_webhooks(app)
    login("admin")
    html = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "2026-03-02 12:00:00: HTTP 503" in html and "2026-03-02 12:00:30: HTTP 200" in html


def test_a_retry_time_shows_in_the_log(app, client, login):
    endpoint_id = with_log(app, 1)
    with app.app_context():
        db.session.execute(
            sa.update(WebhookDelivery).values(
                status=DeliveryStatus.PENDING, attempts=2, due_at=NOW + dt.timedelta(minutes=1)
            )
        )
        db.session.commit()
    login("admin")
    html = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "Retrying at 12:01:00" in html and ">Send again<" not in html
