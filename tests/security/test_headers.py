"""Security headers on every answer; HSTS only over HTTPS; the reverse-proxy setting."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.security.web import CONTENT_SECURITY_POLICY
from tests.builders import TEST_PASSWORD, add_user


def script_sources(policy: str) -> str:
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return directives.get("script-src", directives.get("default-src", ""))


@pytest.mark.parametrize("path", ["/login", "/", "/healthz", "/no-such-page"])
def test_every_answer_carries_the_security_headers(client, login, path):
    login("admin")
    response = client.get(path)
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in script_sources(policy)
    assert "'unsafe-eval'" not in script_sources(policy)
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy and "base-uri 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in {"same-origin", "no-referrer"}
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # plain http
    assert headers["Cache-Control"] == "no-store"


def test_the_policy_is_the_strict_one():
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    )


def test_hsts_is_sent_over_https(client):
    response = client.get("/login", base_url="https://clinic.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= (
        180 * 86400
    )


def test_static_files_may_be_cached_but_still_get_nosniff(client):
    response = client.get("/static/clinic.css")
    try:
        assert response.status_code == 200
        assert response.headers.get("Cache-Control") != "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        response.close()  # a file response: close it, or the open file warns


def test_forwarded_headers_are_ignored_without_a_configured_proxy(client):
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


class TestBehindOneProxy:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "PROXY_FIX": {"x_for": 1, "x_proto": 1}}

    def test_https_at_the_proxy_is_recognised(self, client):
        response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")

    def test_the_audit_trail_records_the_clients_address(self, app, client):
        add_user(app, "rita", "receptionist")
        client.post(
            "/login",
            data={"username": "rita", "password": TEST_PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        with app.app_context():
            addresses = db.session.scalars(sa.select(AuditEvent.source_address)).all()
        assert addresses == ["203.0.113.9"]


def test_templates_contain_no_inline_scripts_styles_or_event_handlers():
    """The CSP forbids them, so a browser would silently ignore them."""
    import re

    from clinic.paths import TEMPLATES_DIR

    offenders = []
    for template in TEMPLATES_DIR.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offenders.append(f"{template.name}: {match.group(0)}")
        for match in re.finditer(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{template.name}: {match.group(0).strip()}")
        for match in re.finditer(r"<style\b|\sstyle\s*=\s*[\"']", text):
            offenders.append(f"{template.name}: {match.group(0).strip()}")
        if "javascript:" in text.lower():
            offenders.append(f"{template.name}: javascript: URL")
    assert offenders == []
