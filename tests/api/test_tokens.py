"""API tokens: created once in plain text, stored hashed, listed and revoked by the CLI and the
admin page; only a live token of an active user authenticates."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from clinic.accounts.queries import list_tokens
from clinic.accounts.tokens import (
    TOKEN_MARK,
    TokenError,
    authenticate,
    create_token,
    revoke_token,
)
from clinic.audit import SYSTEM, Actor
from clinic.extensions import db
from clinic.models import ApiToken, User
from tests.api.conftest import audit_events
from tests.builders import NOW, make_user


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(session: Any) -> None:
    make_user(session, "alice", "receptionist")

    new = create_token(session, username="alice", name="EHR sync", actor=SYSTEM, now=NOW)

    assert new.plain.startswith(TOKEN_MARK) and len(new.plain) > 40
    row = session.get(ApiToken, new.token.id)
    assert row.token_hash == hashlib.sha256(new.plain.encode()).hexdigest()
    assert row.prefix == new.plain[:12]
    assert row.name == "EHR sync"
    stored = " ".join(str(value) for value in session.execute(sa.select(ApiToken)).one())
    assert new.plain not in stored


def test_a_token_authenticates_its_user_until_revoked(session: Any) -> None:
    user = make_user(session, "bob", "nurse")
    new = create_token(session, username="bob", actor=SYSTEM, now=NOW)

    assert authenticate(session, plain=new.plain, now=NOW) == user
    assert session.get(ApiToken, new.token.id).last_used_at == NOW

    revoke_token(session, token_id=new.token.id, actor=SYSTEM, now=NOW)
    assert authenticate(session, plain=new.plain, now=NOW) is None


def test_unknown_or_malformed_tokens_authenticate_nobody(session: Any) -> None:
    make_user(session, "carol", "admin")
    new = create_token(session, username="carol", actor=SYSTEM, now=NOW)

    for plain in ("", "x", new.plain[:-1], new.plain + "x", "Bearer " + new.plain, "é" * 300):
        assert authenticate(session, plain=plain, now=NOW) is None


def test_a_deactivated_users_tokens_stop_working(session: Any) -> None:
    user = make_user(session, "dave", "receptionist")
    new = create_token(session, username="dave", actor=SYSTEM, now=NOW)
    user.active = False
    session.commit()

    assert authenticate(session, plain=new.plain, now=NOW) is None
    with pytest.raises(TokenError, match="deactivated"):
        create_token(session, username="dave", actor=SYSTEM, now=NOW)


def test_creating_and_revoking_are_audited_without_the_token(session: Any, app: Flask) -> None:
    make_user(session, "erin", "receptionist")
    actor = Actor(user_id=None, username="admin-cli", source_address="10.0.0.9")
    new = create_token(session, username="erin", actor=actor, now=NOW)
    revoke_token(session, token_id=new.token.id, actor=actor, now=NOW)

    created = audit_events(app, "api_token.create")
    revoked = audit_events(app, "api_token.revoke")
    assert [e.entity_id for e in created] == [str(new.token.id)]
    assert [e.entity_id for e in revoked] == [str(new.token.id)]
    assert created[0].username == "admin-cli" and created[0].source_address == "10.0.0.9"
    assert new.plain not in created[0].summary and new.token.prefix not in created[0].summary


def test_token_errors_say_what_is_wrong(session: Any) -> None:
    make_user(session, "frank", "receptionist")
    with pytest.raises(TokenError, match="no user named"):
        create_token(session, username="nobody", actor=SYSTEM, now=NOW)
    with pytest.raises(TokenError, match="at most 80"):
        create_token(session, username="frank", name="n" * 81, actor=SYSTEM, now=NOW)
    with pytest.raises(TokenError, match="no API token with id"):
        revoke_token(session, token_id=999, actor=SYSTEM, now=NOW)
    new = create_token(session, username="frank", actor=SYSTEM, now=NOW)
    revoke_token(session, token_id=new.token.id, actor=SYSTEM, now=NOW)
    with pytest.raises(TokenError, match="already revoked"):
        revoke_token(session, token_id=new.token.id, actor=SYSTEM, now=NOW)


def test_listing_shows_live_tokens_or_all(session: Any) -> None:
    make_user(session, "gina", "receptionist")
    kept = create_token(session, username="gina", actor=SYSTEM, now=NOW)
    gone = create_token(session, username="gina", actor=SYSTEM, now=NOW)
    revoke_token(session, token_id=gone.token.id, actor=SYSTEM, now=NOW)

    assert [t.id for t in list_tokens(session, include_revoked=False)] == [kept.token.id]
    assert {t.id for t in list_tokens(session)} == {kept.token.id, gone.token.id}


# --- the command line ---------------------------------------------------------------------


def test_cli_creates_lists_and_revokes_tokens(app: Flask, runner: Any) -> None:
    with app.app_context():
        make_user(db.session, "hank", "receptionist")

    created = runner.invoke(args=["create-token", "hank", "--name", "phone system"])
    assert created.exit_code == 0, created.output
    plain = created.stdout.strip()
    assert plain.startswith(TOKEN_MARK)
    assert "not shown again" in created.stderr
    with app.app_context():
        assert authenticate(db.session, plain=plain, now=NOW) is not None
        token_id = db.session.scalar(sa.select(ApiToken.id))

    listed = runner.invoke(args=["list-tokens"])
    assert listed.exit_code == 0
    assert (
        plain[:12] in listed.output and "hank" in listed.output and "phone system" in listed.output
    )
    assert plain not in listed.output

    revoked = runner.invoke(args=["revoke-token", str(token_id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "No API tokens" in runner.invoke(args=["list-tokens"]).output
    assert "revoked" in runner.invoke(args=["list-tokens", "--all"]).output
    with app.app_context():
        assert authenticate(db.session, plain=plain, now=NOW) is None


def test_cli_refuses_unknown_users_and_tokens(runner: Any) -> None:
    result = runner.invoke(args=["create-token", "nobody"])
    assert result.exit_code != 0 and "no user named" in result.output
    result = runner.invoke(args=["revoke-token", "42"])
    assert result.exit_code != 0 and "no API token with id 42" in result.output


# --- the admin page -----------------------------------------------------------------------


def test_only_admins_manage_tokens(client: FlaskClient, login: Callable[..., User]) -> None:
    login("receptionist")
    assert client.get("/admin/api-tokens").status_code == 403
    assert client.post("/admin/api-tokens", data={"username": "x"}).status_code == 403


def test_admin_creates_a_token_that_is_shown_once(
    app: Flask, client: FlaskClient, login: Callable[..., User]
) -> None:
    login("admin")
    with app.app_context():
        make_user(db.session, "ivy", "nurse")

    page = client.get("/admin/api-tokens")
    assert page.status_code == 200 and "ivy (nurse)" in page.get_data(as_text=True)

    created = client.post("/admin/api-tokens", data={"username": "ivy", "name": "EHR"})
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    with app.app_context():
        token = db.session.scalars(sa.select(ApiToken)).one()
        prefix = token.prefix
    start = html.index('value="' + TOKEN_MARK) + len('value="')
    plain = html[start : html.index('"', start)]
    assert plain.startswith(prefix)
    assert created.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert authenticate(db.session, plain=plain, now=NOW) is not None

    again = client.get("/admin/api-tokens").get_data(as_text=True)
    assert prefix in again and plain not in again


def test_admin_revokes_a_token(app: Flask, client: FlaskClient, login: Callable[..., User]) -> None:
    login("admin")
    with app.app_context():
        make_user(db.session, "jack", "receptionist")
        new = create_token(db.session, username="jack", actor=SYSTEM, now=NOW)
        token_id = new.token.id

    response = client.post(f"/admin/api-tokens/{token_id}/revoke")
    assert response.status_code == 302
    page = client.get("/admin/api-tokens").get_data(as_text=True)
    assert "revoked; it no longer works" in page
    with app.app_context():
        assert authenticate(db.session, plain=new.plain, now=NOW) is None
    assert audit_events(app, "api_token.revoke")[0].username == "admin-user"


def test_admin_page_refuses_bad_input_and_forged_posts(
    app: Flask, client: FlaskClient, login: Callable[..., User]
) -> None:
    login("admin")
    assert client.post("/admin/api-tokens", data={"username": "ghost"}).status_code == 400
    assert (
        client.post("/admin/api-tokens", data={"username": "admin-user"}, csrf=False).status_code
        == 400
    )
    assert client.post("/admin/api-tokens/2147483648/revoke").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0
