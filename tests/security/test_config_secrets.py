"""Production refuses weak secrets; the engine never puts statement parameters in errors."""

from __future__ import annotations

import secrets

import pytest

from clinic import create_app
from clinic.config import ConfigError, secret_key_problem
from clinic.extensions import db


def production(tmp_path, **settings):
    return create_app(
        {
            "PRODUCTION": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
            **settings,
        }
    )


@pytest.mark.parametrize(
    "secret",
    [
        "testing-secret-not-for-production",  # tests' own key, 33 characters
        "change-me-change-me-change-me-change-me",
        "please-put-a-real-secret-key-in-here-now",
        "a" * 64,
        "abcabcabcabcabcabcabcabcabcabcabcabc",
        "my-default-example-key-1234567890abcdef",
        "   ",
    ],
)
def test_production_refuses_weak_or_placeholder_secrets(tmp_path, secret):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        production(tmp_path, SECRET_KEY=secret)
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_a_weak_secret_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINIC_SECRET_KEY", "changeme")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        production(tmp_path)


def test_generated_secrets_are_accepted():
    for _ in range(200):
        assert secret_key_problem(secrets.token_urlsafe(48)) is None
        assert secret_key_problem(secrets.token_hex(32)) is None


def test_production_starts_with_a_generated_secret(tmp_path):
    app = production(tmp_path, SECRET_KEY=secrets.token_urlsafe(48))
    assert app.config["PRODUCTION"] is True


def test_sql_is_never_echoed_and_parameters_never_reach_error_messages(app):
    with app.app_context():
        engine = db.engine
        assert engine.echo is False
        assert engine.hide_parameters is True
    assert app.config["SQLALCHEMY_ECHO"] is False
