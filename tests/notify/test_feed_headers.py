"""The calendar feed keeps its own, stricter headers: the security defaults only fill gaps."""

from __future__ import annotations

import datetime as dt

from clinic.extensions import db
from tests.builders import MinimalClinic, make_patient


def test_the_feed_sends_no_referrer_while_pages_keep_same_origin(app, client):
    with app.app_context():
        clinic = MinimalClinic(db.session)
        patient = make_patient(db.session, calendar_token="f" * 43)
        clinic.appointment(patient, dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
        db.session.commit()
    feed = client.get("/calendar/" + "f" * 43 + ".ics")
    assert feed.status_code == 200
    # The token is in the URL: a link followed from a calendar must not leak it.
    assert feed.headers["Referrer-Policy"] == "no-referrer"
    assert feed.headers["X-Content-Type-Options"] == "nosniff"
    assert feed.headers["Cache-Control"] == "no-store"
    page = client.get("/login")
    assert page.headers["Referrer-Policy"] == "same-origin"
