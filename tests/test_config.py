"""Configuration layering and the production secret check."""

from __future__ import annotations

import pytest
from flask import Flask

from clinic import create_app
from clinic.config import ConfigError, env_overrides, load_config


def make_flask(tmp_path) -> Flask:
    return Flask("clinic_config_test", instance_path=str(tmp_path))


def test_env_variables_override_files_and_parse_as_toml_literals(tmp_path):
    app = make_flask(tmp_path)
    load_config(
        app,
        None,
        environ={
            "CLINIC_MAIL_SMTP_PORT": "2525",
            "CLINIC_SECURE_COOKIES": "true",
            "CLINIC_CLINIC_NAME": "Harbor Clinic",
        },
    )
    assert app.config["MAIL_SMTP_PORT"] == 2525
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["CLINIC_NAME"] == "Harbor Clinic"


def test_config_file_named_by_clinic_config_is_layered_over_defaults(tmp_path):
    config_file = tmp_path / "site.toml"
    config_file.write_text('[mail]\nbackend = "smtp"\nsmtp_host = "mail.example"\n')
    app = make_flask(tmp_path)
    load_config(app, None, environ={"CLINIC_CONFIG": str(config_file)})
    assert app.config["MAIL_BACKEND"] == "smtp"
    assert app.config["MAIL_SMTP_HOST"] == "mail.example"
    assert app.config["MAIL_SMTP_PORT"] == 587  # still the default


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    app = make_flask(tmp_path)
    load_config(app, None, environ={})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'clinic.db'}"


def test_postgresql_urls_use_psycopg3(tmp_path):
    app = make_flask(tmp_path)
    load_config(app, None, environ={"CLINIC_DATABASE_URL": "postgresql://u@db/clinic"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/clinic"


def test_embedded_default_generates_and_keeps_a_secret_key(tmp_path):
    first = make_flask(tmp_path)
    load_config(first, None, environ={})
    second = make_flask(tmp_path)
    load_config(second, None, environ={})
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("secret", [None, "", "dev", "change-me", "short-secret"])
def test_production_refuses_to_start_without_a_real_secret(tmp_path, secret):
    overrides = {"PRODUCTION": True, "INSTANCE_PATH": str(tmp_path)}
    if secret is not None:
        overrides["SECRET_KEY"] = secret
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(overrides)
    assert not (tmp_path / "secret_key").exists()


def test_production_starts_with_a_strong_secret(tmp_path):
    app = create_app(
        {
            "PRODUCTION": True,
            "SECRET_KEY": "k" * 20 + "Zq8-w3_rT0pLmN5vB2xC9",
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        }
    )
    assert app.config["SECRET_KEY"].startswith("kkkk")


def test_clinic_config_itself_is_not_an_override():
    assert env_overrides({"CLINIC_CONFIG": "/x.toml", "OTHER": "1"}) == {}
