"""Walk every route of the app with every role and anonymously, and check the answer.

Routes come from ``app.url_map``, so blueprints added later are covered without touching
this file. Each view states who may call it: ``clinic.web.access.require`` (and the API's
operation decorator) mark it with ``required_permission``. A view without that mark must be
on one of the explicit allowlists below, so a new route that forgets its protection fails
here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.routing import Rule

from clinic.extensions import db
from clinic.models import Role
from clinic.permissions import Permission, can
from tests.builders import NOW, TEST_PASSWORD, make_user
from tests.testapp import ClinicClient

# Anyone, logged in or not. Each entry is a decision; add to it only with a reason.
PUBLIC = {
    "static",  # CSS and JS
    "auth.login",
    "main.healthz",  # load balancer probe, says nothing but ok/unavailable
    "calendar.feed",  # the patient's calendar app: the secret token in the URL is the key
    "api.openapi_json",  # the API's description: no data
    "api.reference",
    "fhir.metadata",  # the FHIR CapabilityStatement: what the server supports, no data
}
# The second step of a login: open only to a browser whose password step passed in the last
# few minutes (a pending state in its session); everyone else, logged in or not, is sent to
# the login page.
SECOND_STEP = {"auth.code", "auth.enrol"}
# Any logged-in user, whatever their role.
LOGIN_ONLY = {
    "main.home",
    "auth.logout",
}
ROLES = list(Role)  # every role, the manager (reports only) included
MISSING = object()
# Bearer-token interfaces: the JSON API and the FHIR endpoint.
API_PREFIX = ("/api/", "/fhir/")


def fill_argument(rule: Rule, name: str) -> Any:
    """A plausible value for a URL parameter: ids 1, dates, tokens."""
    converter = type(rule._converters[name]).__name__
    if converter in {"IntegerConverter", "RecordIdConverter", "IdConverter", "NumberConverter"}:
        return 1
    if converter == "PathConverter":
        return "clinic.css"
    if "date" in name or name == "day":
        return "2026-03-02"
    if "token" in name:
        return "no-such-token-" + "x" * 20
    return "1"


def build_path(app: Flask, rule: Rule) -> str:
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        values = {name: fill_argument(rule, name) for name in rule.arguments}
        return adapter.build(rule.endpoint, values, method=next(iter(methods_of(rule))))


def methods_of(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


@dataclass
class Visitor:
    name: str
    client: ClinicClient
    role: Role | None
    headers: dict[str, str]


def request(visitor: Visitor, method: str, path: str) -> Any:
    is_api = path.startswith(API_PREFIX)
    headers = visitor.headers if is_api else {}
    if method == "GET":
        return visitor.client.get(path, headers=headers)
    if is_api:
        return visitor.client.open(path, method=method, json={}, headers=headers)
    return visitor.client.open(
        path, method=method, data={"csrf_token": visitor.client.csrf_token()}
    )


def make_visitors(app: Flask) -> list[Visitor]:
    from clinic.accounts.tokens import create_token
    from clinic.audit import SYSTEM

    app.test_client_class = ClinicClient
    # A bystander holds id 1 (user and token): the walk's POSTs to ".../1/..." act on it,
    # never on the visitors' own accounts.
    with app.app_context():
        make_user(db.session, "bystander", Role.NURSE)
        create_token(db.session, username="bystander", actor=SYSTEM, now=NOW)
    visitors = [Visitor("anonymous", app.test_client(), None, {})]
    for role in ROLES:
        username = f"walk-{role.value}"
        with app.app_context():
            make_user(db.session, username, role)
            token = create_token(db.session, username=username, actor=SYSTEM, now=NOW).plain
        client = app.test_client()
        client.log_in(username, TEST_PASSWORD)
        assert client.is_logged_in()
        visitors.append(Visitor(role.value, client, role, {"Authorization": f"Bearer {token}"}))
    return visitors


def redirects_to_login(response: Any) -> bool:
    return response.status_code in (302, 303) and urlsplit(
        response.headers.get("Location", "")
    ).path.startswith("/login")


def expected_problem(rule: Rule, permission: Any, visitor: Visitor, response: Any) -> str | None:
    """What is wrong with ``response``, or None if it is the right answer."""
    status = response.status_code
    is_api = rule.rule.startswith(API_PREFIX)
    if status >= 500:
        return f"server error {status}"
    if rule.endpoint in SECOND_STEP:
        return None if redirects_to_login(response) else f"second step answered {status}"
    if rule.endpoint in PUBLIC:
        if status in (401, 403) or redirects_to_login(response):
            return f"public route refused ({status})"
        return None
    if visitor.role is None:
        if is_api:
            return None if status == 401 else f"anonymous API call answered {status}, not 401"
        return None if redirects_to_login(response) else f"anonymous got {status}, not login"
    if rule.endpoint == "auth.logout":
        return None if redirects_to_login(response) else f"logout answered {status}"
    if status == 401 or redirects_to_login(response):
        return f"logged-in {visitor.name} was sent to log in ({status})"
    if rule.endpoint in LOGIN_ONLY:
        return f"{visitor.name} refused a login-only page" if status == 403 else None
    allowed = can(visitor.role, permission)
    if allowed and status == 403:
        return f"{visitor.name} has {permission} but was refused"
    if not allowed and status != 403:
        return f"{visitor.name} lacks {permission} but got {status}"
    return None


def test_every_view_declares_who_may_call_it(app):
    unprotected = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "required_permission", MISSING)
        if permission is MISSING or permission is None:
            if rule.endpoint not in PUBLIC | LOGIN_ONLY | SECOND_STEP:
                unprotected.append(f"{rule.rule} ({rule.endpoint})")
        else:
            assert isinstance(permission, Permission), rule.endpoint
            assert rule.endpoint not in PUBLIC | LOGIN_ONLY, (
                f"{rule.endpoint} is protected: take it off the allowlist"
            )
    assert not unprotected, "routes without @require(...) or an allowlist entry:\n" + "\n".join(
        unprotected
    )


def test_every_route_answers_every_role_as_the_permissions_say(app):
    visitors = make_visitors(app)
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint == "auth.logout", r.rule))
    problems = []
    checked = 0
    for rule in rules:
        permission = getattr(app.view_functions[rule.endpoint], "required_permission", None)
        path = build_path(app, rule)
        for method in methods_of(rule):
            for visitor in visitors:
                response = request(visitor, method, path)
                try:
                    if problem := expected_problem(rule, permission, visitor, response):
                        problems.append(f"{method} {path} [{visitor.name}]: {problem}")
                    checked += 1
                finally:
                    response.close()
    assert not problems, "\n".join(problems)
    # Sanity: the walk covered the app (every blueprint's routes, every identity).
    assert checked >= 4 * len(list(app.url_map.iter_rules()))


@pytest.mark.parametrize("role", ROLES)
def test_the_permission_table_is_the_one_place(role):
    """Roles map to permissions only in clinic.permissions; admins can do everything."""
    from clinic.permissions import ROLE_PERMISSIONS

    assert role in ROLE_PERMISSIONS
    if role is Role.ADMIN:
        assert ROLE_PERMISSIONS[role] == frozenset(Permission)
    else:
        assert Permission.VIEW_AUDIT not in ROLE_PERMISSIONS[role]
        assert Permission.MANAGE_USERS not in ROLE_PERMISSIONS[role]
