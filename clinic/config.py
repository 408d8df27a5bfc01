"""Configuration: config/default.toml, then the file named by CLINIC_CONFIG, then CLINIC_*
environment variables, then the mapping given to create_app (tests).

TOML tables are flattened into upper-case Flask keys: ``[mail] backend = "smtp"`` becomes
``MAIL_BACKEND``, overridable as ``CLINIC_MAIL_BACKEND``. Environment values are read as TOML
literals when they parse (``true``, ``25``, ``[1, 2]``) and as plain strings otherwise.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .paths import CONFIG_DIR

ENV_PREFIX = "CLINIC_"
# Secrets that are known to the world and so are no secret at all.
WEAK_SECRETS = frozenset({"", "dev", "change-me", "changeme", "secret", "CHANGE-ME", "test"})
MIN_SECRET_LENGTH = 32
# A secret that contains one of these was typed by a person or copied from a sample file
# (e.g. testing.toml's "testing-secret-not-for-production"), not generated. Words of six or
# more letters only: a generated key contains one by chance about once in ten million.
PLACEHOLDER_WORDS = ("change", "secret", "example", "default", "password", "testing")
# token_urlsafe(48) has ~40 distinct characters; a key with few is a pattern, not random.
MIN_DISTINCT_SECRET_CHARACTERS = 12


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


def flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}".upper()
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}_"))
        else:
            flat[name] = value
    return flat


def read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return flatten(tomllib.load(fh))


def parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        key[len(ENV_PREFIX) :]: parse_env_value(value)
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and key != "CLINIC_CONFIG"
    }


def load_config(
    app: Flask, overrides: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> None:
    environ = os.environ if environ is None else environ
    settings = read_toml(CONFIG_DIR / "default.toml")
    if config_file := environ.get("CLINIC_CONFIG"):
        settings.update(read_toml(Path(config_file)))
    settings.update(env_overrides(environ))
    settings.update(flatten(overrides or {}))
    app.config.update(settings)

    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'clinic.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["DATABASE_URL"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    # Statement parameters hold patient names, dates of birth and phone numbers: keep them
    # out of exception messages (and so out of logs), and never echo SQL.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] = True
    app.config["SQLALCHEMY_ECHO"] = False
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("pool_pre_ping", True)

    # No form of the app is anywhere near this; a bigger body is refused (413) unread.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024

    app.config["SECRET_KEY"] = resolve_secret_key(app)
    # Production is served over HTTPS (behind a proxy): its cookies are always Secure. Only the
    # embedded default on http://127.0.0.1 may leave SECURE_COOKIES off.
    cookies_secure = bool(app.config.get("SECURE_COOKIES")) or bool(app.config.get("PRODUCTION"))
    app.config["SECURE_COOKIES"] = cookies_secure
    app.config.update(
        SESSION_COOKIE_SECURE=cookies_secure,
        REMEMBER_COOKIE_SECURE=cookies_secure,
        SESSION_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SAMESITE="Lax",
    )


def normalise_database_url(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the plain scheme people copy from docs.
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def resolve_secret_key(app: Flask) -> str:
    """Production must be given a strong secret; the embedded default makes and keeps one."""
    configured = str(app.config.get("SECRET_KEY") or "")
    if app.config.get("PRODUCTION"):
        if problem := secret_key_problem(configured):
            raise ConfigError(
                f"Production needs a real SECRET_KEY: {problem} Set CLINIC_SECRET_KEY to a "
                "generated one: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return configured
    if configured:
        return configured
    key_file = Path(app.instance_path) / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Only the owner may read it: it signs every session cookie.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def secret_key_problem(secret: str) -> str | None:
    """Why ``secret`` is unfit to sign production session cookies, or None."""
    if secret.strip() in WEAK_SECRETS:
        return "none is set, or it is a well-known placeholder."
    if len(secret) < MIN_SECRET_LENGTH:
        return f"it must be at least {MIN_SECRET_LENGTH} random characters long."
    folded = secret.lower()
    if any(word in folded for word in PLACEHOLDER_WORDS):
        return "it looks like a placeholder or sample value, not a generated secret."
    if len(set(secret)) < MIN_DISTINCT_SECRET_CHARACTERS:
        return "it is too repetitive to be random."
    return None
