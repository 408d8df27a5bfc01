"""Fuzz every form of the web UI with random and malicious input (hypothesis).

Forms are discovered, not listed: every GET page of the app (routes from ``app.url_map``,
ids filled with real rows of the demo clinic) is fetched as an admin and its POST forms are
parsed; every POST route of the UI is then fuzzed, with the fields of its form when one was
found. Forms added later are covered without touching this file.

Each example checks: no server error; no unescaped script in any answer; an answer that
refuses the input (4xx, a re-rendered form, or a redirect to a page with an error) has saved
nothing (row counts of every table but the audit and login tables are unchanged); a page
re-rendered with changes saved is a bug (a save redirects); input that is certainly invalid
(a non-date in a date field, a non-number in a number field, a choice not offered) is
refused with a visible message; and every save that adds or removes rows writes an audit
row.
"""

from __future__ import annotations

import datetime as dt
import html.parser
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from clinic.demo import seed_demo
from clinic.extensions import db
from clinic.models import Base
from tests.builders import NOW, TEST_PASSWORD, make_user
from tests.testapp import ClinicClient

EXAMPLES_PER_FORM = int(os.environ.get("CLINIC_FUZZ_EXAMPLES", "12"))
# Tables whose rows a request may add whatever the input: the trail of who did what.
UNCOUNTED = {"audit_event", "login_session", "login_attempt"}
# Not fuzzed as the logged-in admin: logout would end the session the fuzzing runs in; the
# second login step answers only a pending login (each has a test of its own below).
SKIPPED_ENDPOINTS = {"auth.logout", "auth.code", "auth.enrol"}
# Saves that answer 200 instead of redirecting, on purpose: a new API token is shown once,
# in that answer, and must never travel through a redirect or the session cookie.
SHOWN_ONCE = {"/admin/api-tokens"}
SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
RAW_PAYLOADS = [SCRIPT, "<img src=x onerror=alert(1)>"]
MALICIOUS = [
    SCRIPT,
    IMAGE,
    "' OR 1=1 --",
    "'; DROP TABLE patient; --",
    '" OR ""="',
    "1; SELECT pg_sleep(5)",
    "{{ 7*7 }}",
    "${7*7}",
    "\x00",
    "nul\x00byte",
    "../../../etc/passwd",
    "%00%27",
    "NaN",
    "Infinity",
    "-1",
    "0",
    "1e309",
    "99999999999999999999",
    "-99999999999999999999",
    "2026-02-30",
    "0000-00-00",
    "9999-99-99",
    "2026-13-01",
    "12:61",
    "25:00",
    "31/12/2026",
    "null",
    "true",
    "[]",
    "{}",
    " ",
    "",
    "\u202eevil\u202c",
    "مرحبا بالعالم",
    "😀" * 40,
    "\r\n\r\nSet-Cookie: x=1",
    "A" * 300,
    "B" * 5000,
]
ERROR_MARKERS = ('class="error"', "flash-error", "has-error", 'role="alert"')


# --- Discovering forms ----------------------------------------------------------------------


@dataclass
class FormField:
    name: str
    kind: str  # input type, "select", "textarea"
    value: str = ""
    options: list[str] = field(default_factory=list)
    multiple: bool = False
    checked: list[str] = field(default_factory=list)  # ticked boxes and radios


@dataclass
class Form:
    action: str
    page: str
    fields: dict[str, FormField] = field(default_factory=dict)


class FormParser(html.parser.HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: FormField | None = None
        self.links: list[str] = []
        self.textarea: FormField | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "form":
            method = attributes.get("method", "get").lower()
            action = attributes.get("action") or self.page
            self.current = Form(action=action, page=self.page) if method == "post" else None
            return
        if self.current is None:
            return
        name = attributes.get("name")
        if tag in {"input", "button"} and name and name != "csrf_token":
            kind = attributes.get("type", "text" if tag == "input" else "submit").lower()
            existing = self.current.fields.get(name)
            if kind in {"checkbox", "radio"}:
                value = attributes.get("value", "y")
                if existing is None:
                    existing = self.current.fields[name] = FormField(name, kind, value)
                existing.options.append(value)
                if "checked" in attributes:
                    existing.checked.append(value)
                return
            self.current.fields[name] = FormField(name, kind, attributes.get("value", ""))
        elif tag == "select" and name:
            self.select = FormField(name, "select", multiple="multiple" in attributes)
            self.current.fields[name] = self.select
        elif tag == "option" and self.select is not None:
            value = attributes.get("value", "")
            self.select.options.append(value)
            if "selected" in attributes or not self.select.value:
                self.select.value = value
        elif tag == "textarea" and name:
            self.textarea = self.current.fields[name] = FormField(name, "textarea")

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.current is not None:
            self.forms.append(self.current)
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def table_for(parameter: str) -> sa.Table | None:
    name = parameter.removesuffix("_id")
    aliases = {"token": "api_token", "block": "chair_block", "template": "shift_template"}
    return Base.metadata.tables.get(aliases.get(name, name))


def existing_ids(app: Flask) -> dict[str, int]:
    """For each table, the smallest id in it (so URLs point at real rows)."""
    with app.app_context():
        ids = {}
        for table in Base.metadata.sorted_tables:
            if "id" in table.c:
                ids[table.name] = db.session.scalar(sa.select(sa.func.min(table.c.id))) or 1
        return ids


def fill(rule: Rule, ids: dict[str, int]) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__
        if converter in {"IntegerConverter", "IdConverter"}:
            table = table_for(name)
            values[name] = ids.get(table.name, 1) if table is not None else 1
        elif "date" in name or name == "day":
            values[name] = "2026-03-02"
        else:
            return None  # tokens, paths: no form behind them
    return values


def ui_rules(app: Flask) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.rule.startswith("/api/")
    ]


def discover_forms(app: Flask, client: ClinicClient, ids: dict[str, int]) -> dict[str, Form]:
    """POST endpoint -> a form that posts to it, found on the app's GET pages.

    Every GET route is visited with real ids; links found there that open a form page with
    a query string (``/series/new?patient_id=3``) are visited too, one level deep.
    """
    adapter = app.url_map.bind("localhost")
    forms: dict[str, Form] = {}
    pages: list[tuple[str, bool]] = []  # (path, reached through a link)
    for rule in ui_rules(app):
        if "GET" in (rule.methods or ()) and (values := fill(rule, ids)) is not None:
            pages.append((adapter.build(rule.endpoint, values), False))
    seen_links: set[tuple[str, frozenset[str]]] = set()
    for path, linked in pages:
        parser = parse_page(client, path)
        if parser is None:
            continue
        for form in parser.forms:
            action = urlsplit(form.action)
            try:
                endpoint, _ = adapter.match(action.path, method="POST")
            except HTTPException:
                continue
            # Keep the form with the most fields seen for an endpoint.
            if endpoint not in forms or len(form.fields) > len(forms[endpoint].fields):
                form.action = action.path + (f"?{action.query}" if action.query else "")
                forms[endpoint] = form
        if linked:
            continue  # one level deep is enough
        for href in parser.links:
            link = urlsplit(href)
            if link.netloc or not link.query or not link.path.startswith("/"):
                continue
            try:
                endpoint, _ = adapter.match(link.path, method="POST")
            except HTTPException:
                continue
            key = (endpoint, frozenset(part.split("=")[0] for part in link.query.split("&")))
            if key not in seen_links:
                seen_links.add(key)
                pages.append((f"{link.path}?{link.query}", True))
    return forms


def parse_page(client: ClinicClient, path: str) -> FormParser | None:
    response = client.get(path)
    # Close every answer: a streamed one (the CSV export) holds its context open till then.
    with response:
        if response.status_code != 200 or response.mimetype != "text/html":
            return None
        page = response.get_data(as_text=True)
    parser = FormParser(path)
    parser.feed(page)
    return parser


def post_targets(app: Flask, forms: dict[str, Form], ids: dict[str, int]) -> list[Form]:
    """Every POST route of the UI, with its discovered form or an empty stand-in."""
    adapter = app.url_map.bind("localhost")
    targets = []
    for rule in sorted(ui_rules(app), key=lambda r: r.rule):
        if "POST" not in (rule.methods or ()) or rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        if rule.endpoint in forms:
            targets.append(forms[rule.endpoint])
            continue
        values = fill(rule, ids)
        if values is not None:
            path = adapter.build(rule.endpoint, values, method="POST")
            targets.append(Form(action=path, page=path))
    return targets


# --- Strategies -------------------------------------------------------------------------------

free_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
overlong = st.integers(min_value=256, max_value=60_000).map(lambda n: "x" * n)
nasty = st.sampled_from(MALICIOUS)
GENERIC_FIELDS = ["name", "reason", "date", "starts_at", "notes", "id", "scope", "q", "email"]


def value_strategy(form_field: FormField) -> st.SearchStrategy[Any]:
    choices = [nasty, free_text, overlong]
    if form_field.value:
        choices.append(st.just(form_field.value))
    if form_field.options:
        choices.append(st.sampled_from(form_field.options))
    single = st.one_of(*choices)
    # Sometimes the same name twice: what a crafted request can send.
    return st.one_of(single, single, single, st.lists(single, min_size=2, max_size=3))


def form_data(form: Form) -> st.SearchStrategy[dict[str, Any]]:
    if form.fields:
        optional = {name: value_strategy(f) for name, f in form.fields.items()}
    else:
        optional = {name: value_strategy(FormField(name, "text")) for name in GENERIC_FIELDS}
    return st.fixed_dictionaries({}, optional=optional)


def certainly_invalid(form: Form, data: dict[str, Any]) -> str | None:
    """A reason the input cannot be valid, judged from the form's own HTML, or None."""
    for name, value in data.items():
        form_field = form.fields.get(name)
        if form_field is None or isinstance(value, list) or value == "":
            continue
        if form_field.kind == "date" and not is_iso_date(value):
            return f"{name}={value[:40]!r} is not a date"
        if form_field.kind == "number" and not is_number(value):
            return f"{name}={value[:40]!r} is not a number"
        if (
            form_field.kind == "select"
            and form_field.options
            and not form_field.multiple
            and value not in form_field.options
        ):
            return f"{name}={value[:40]!r} is not one of the choices"
    return None


def is_iso_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value.strip())
    except ValueError:
        return False
    return len(value.strip()) == 10


def is_number(value: str) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return number == number and abs(number) != float("inf")


# --- Checking one answer ----------------------------------------------------------------------


def describe(data: dict[str, Any]) -> str:
    def short(value: Any) -> str:
        if isinstance(value, list):
            return "[" + ", ".join(short(item) for item in value) + "]"
        text = repr(value)
        return text if len(text) <= 60 else f"{text[:50]}...' ({len(value)} chars)"

    return "{" + ", ".join(f"{name}: {short(value)}" for name, value in data.items()) + "}"


def row_counts(app: Flask) -> dict[str, int]:
    """Rows per table; the audit trail's count is kept apart under "audit_event"."""
    tables = [t for t in Base.metadata.sorted_tables if t.name not in UNCOUNTED]
    tables.append(Base.metadata.tables["audit_event"])
    query = sa.select(
        *(sa.select(sa.func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables)
    )
    with app.app_context():
        row = db.session.execute(query).one()
        return dict(row._mapping)


def raw_payloads_in(text: str) -> list[str]:
    return [payload for payload in RAW_PAYLOADS if payload in text]


def shows_error(text: str) -> bool:
    return any(marker in text for marker in ERROR_MARKERS)


@dataclass
class Outcome:
    status: int
    accepted: bool  # the app says the input was fine (redirect, no error shown)
    changed: bool


def submit(app: Flask, client: ClinicClient, form: Form, data: dict[str, Any]) -> Outcome:
    before = row_counts(app)
    response = client.post(form.action, data=data)
    body = response.get_data(as_text=True)
    after = row_counts(app)
    audited = after.pop("audit_event") > before.pop("audit_event")
    changed = {name for name in before if before[name] != after[name]}
    status = response.status_code
    assert status < 500, f"server error {status} for {describe(data)}"
    # Row counts see inserts and deletes (updates need the audit row too, but are not seen).
    assert audited or not changed, f"rows changed in {sorted(changed)} without an audit row"
    assert raw_payloads_in(body) == [], "unescaped script in the answer"

    if status in (301, 302, 303, 307, 308):
        location = response.headers["Location"]
        assert not urlsplit(location).path.startswith("/login"), "the admin was logged out"
        landing = client.get(location)
        landing_body = landing.get_data(as_text=True)
        assert landing.status_code < 500, f"the page after saving fails ({landing.status_code})"
        assert raw_payloads_in(landing_body) == [], "unescaped script after the redirect"
        refused = "flash-error" in landing_body
        if refused:
            assert not changed, f"refused with a message, but rows changed in {sorted(changed)}"
        return Outcome(status, accepted=not refused, changed=bool(changed))

    assert body.strip(), f"an empty {status} answer: no message"
    if status == 200 and changed and form.action in SHOWN_ONCE:
        assert not shows_error(body), f"saved rows in {sorted(changed)} yet shows an error"
        return Outcome(status, accepted=True, changed=True)
    if status == 200 and changed:
        raise AssertionError(
            f"the form was re-rendered but rows changed in {sorted(changed)}: a save "
            "should redirect, and a refusal should save nothing"
        )
    assert not changed, f"refused ({status}) but rows changed in {sorted(changed)}"
    if status >= 400 and status not in (404, 405, 409, 429):
        assert shows_error(body) or "<h1>" in body, f"{status} without a message"
    return Outcome(status, accepted=False, changed=False)


# --- Probes: one certainly invalid field at a time ------------------------------------------

INVALID_BY_KIND = {"date": "2026-02-30", "number": "twelve", "select": "not-a-choice"}


def default_data(form: Form) -> dict[str, Any]:
    """What the form sends as rendered: values, selected options, ticked boxes."""
    data: dict[str, Any] = {}
    for name, form_field in form.fields.items():
        if form_field.kind in {"submit", "button", "reset", "image"}:
            continue
        if form_field.kind in {"checkbox", "radio"}:
            if form_field.checked:
                data[name] = (
                    form_field.checked if form_field.kind == "checkbox" else form_field.checked[0]
                )
            continue
        data[name] = form_field.value
    return data


def probe_invalid_fields(app: Flask, client: ClinicClient, form: Form) -> None:
    """The rendered form with one date, number or select field made invalid: refused."""
    for name, form_field in form.fields.items():
        bad = INVALID_BY_KIND.get(form_field.kind)
        if bad is None or (
            form_field.kind == "select" and (form_field.multiple or not form_field.options)
        ):
            continue
        data = default_data(form) | {name: bad}
        outcome = submit(app, client, form, data)
        if outcome.accepted:
            raise AssertionError(
                f"accepted {name}={bad!r}, not a valid {form_field.kind}, with status "
                f"{outcome.status}: {describe(data)}"
            )


# --- The test ---------------------------------------------------------------------------------


def fuzz_form(app: Flask, client: ClinicClient, form: Form) -> None:
    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=form_data(form))
    def fuzz(data: dict[str, Any]) -> None:
        outcome = submit(app, client, form, data)
        if (reason := certainly_invalid(form, data)) and outcome.accepted:
            raise AssertionError(
                f"accepted invalid input ({reason}) with status {outcome.status}: " + describe(data)
            )

    fuzz()


@pytest.mark.slow
def test_every_form_survives_random_and_malicious_input(app):
    with app.app_context():
        seed_demo(db.session, now=NOW)
        make_user(db.session, "fuzz-admin", "admin")
    ids = existing_ids(app)
    app.test_client_class = ClinicClient
    client = app.test_client()
    client.log_in("fuzz-admin", TEST_PASSWORD)
    assert client.is_logged_in()

    forms = discover_forms(app, client, ids)
    targets = post_targets(app, forms, ids)
    assert len(targets) >= 2
    failures = []
    for form in targets:
        try:
            probe_invalid_fields(app, client, form)
            fuzz_form(app, client, form)
        except Exception as error:  # collect every form's failure, then report them all
            notes = "\n".join(getattr(error, "__notes__", []))  # hypothesis's example
            failures.append(f"POST {form.action} (form on {form.page}): {error}\n{notes}")
            # A failure may have logged the admin out or left a transaction open: start over.
            client = app.test_client()
            client.log_in("fuzz-admin", TEST_PASSWORD)
    assert not failures, "\n\n".join(failures)


def test_the_login_form_survives_random_and_malicious_input(app):
    app.test_client_class = ClinicClient
    client = app.test_client()
    form = Form(
        action="/login",
        page="/login",
        fields={
            "username": FormField("username", "text"),
            "password": FormField("password", "password"),
        },
    )
    fuzz_form(app, client, form)


@pytest.mark.parametrize("step", ["code", "enrol"])
def test_the_second_factor_forms_survive_random_and_malicious_input(app, step):
    app.test_client_class = ClinicClient
    with app.app_context():
        make_user(db.session, "fuzz-admin", "admin")
    client = app.test_client()
    if step == "code":  # enrolled first, then back at the code step
        client.log_in("fuzz-admin", TEST_PASSWORD)
        client.post("/logout")
    response = client.post("/login", data={"username": "fuzz-admin", "password": TEST_PASSWORD})
    assert response.headers["Location"] == f"/login/{step}"
    assert client.get(f"/login/{step}").status_code == 200  # enrolment issues its secret here
    form = Form(
        action=f"/login/{step}", page=f"/login/{step}", fields={"code": FormField("code", "text")}
    )
    fuzz_form(app, client, form)
