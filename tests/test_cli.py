"""The command line: init, seed-demo, create-user and serve."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import sqlalchemy as sa

from clinic import create_app
from clinic.demo import DEMO_USERS
from clinic.extensions import db
from clinic.models import Appointment, Chair, Patient, Staff, User
from tests.testapp import base_config


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Chair, Staff, Patient, Appointment, User)
        }


def test_init_migrates_an_empty_database_to_head(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path))
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "latest schema" in result.output
    with app.app_context():
        assert "appointment" in sa.inspect(db.engine).get_table_names()


def test_seed_demo_loads_a_clinic_and_running_it_twice_adds_nothing(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    after_first = counts(app)
    assert after_first["Chair"] == 8
    assert after_first["Staff"] == 6
    assert after_first["Patient"] == 30
    assert after_first["Appointment"] > 0
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "nothing added" in second.output
    assert counts(app) == after_first


def test_seed_demo_has_a_certification_expiring_within_30_days(app, runner):
    import datetime as dt

    from clinic.models import Certification

    runner.invoke(args=["seed-demo"])
    # Real time: the seed-demo command seeds around the real today (it does not pass the
    # app clock's ``now`` to seed_demo yet).
    today = dt.datetime.now(dt.UTC).date()
    with app.app_context():
        soon = db.session.scalars(
            sa.select(Certification).where(
                Certification.expires_on <= today + dt.timedelta(days=30)
            )
        ).all()
    assert len(soon) == 1


def test_create_user_reads_the_password_from_stdin(app, runner):
    result = runner.invoke(
        args=["create-user", "rita", "--role", "receptionist", "--password-stdin"],
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).filter_by(username="rita"))
        assert user.role == "receptionist"
        assert user.check_password("a-long-enough-password")


def test_create_user_prompts_for_the_password(app, runner):
    result = runner.invoke(
        args=["create-user", "nina", "--role", "nurse"],
        input="another-long-password\nanother-long-password\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(User).filter_by(username="nina")) is not None


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["create-user", "rita", "--role", "admin"], "short", "at least 12"),
        (["create-user", "rita", "--role", "boss"], "a-long-enough-password", "boss"),
    ],
)
def test_create_user_refuses_bad_input_and_saves_nothing(app, runner, args, password, message):
    result = runner.invoke(args=[*args, "--password-stdin"], input=f"{password}\n")
    assert result.exit_code != 0
    assert message in result.output
    assert counts(app)["User"] == 0


def test_create_user_refuses_a_duplicate(app, runner):
    args = ["create-user", "rita", "--role", "admin", "--password-stdin"]
    assert runner.invoke(args=args, input="a-long-enough-password\n").exit_code == 0
    result = runner.invoke(args=args, input="a-long-enough-password\n")
    assert result.exit_code != 0
    assert "already exists" in result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_commands_are_reachable_through_flask_and_the_console_script():
    for command in (
        [sys.executable, "-m", "flask", "--app", "clinic", "--help"],
        [os.path.join(os.path.dirname(sys.executable), "clinic"), "--help"],
    ):
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        for name in ("init", "seed-demo", "create-user", "serve"):
            assert name in output


@pytest.mark.slow
def test_serve_migrates_seeds_the_demo_prints_the_login_and_serves(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "CLINIC_INSTANCE_PATH": str(tmp_path),
        "CLINIC_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
    }
    clinic = os.path.join(os.path.dirname(sys.executable), "clinic")
    process = subprocess.Popen(
        [clinic, "serve", "--port", str(port), "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in output
    username, _, password = DEMO_USERS[0]
    assert f"{username} / {password}" in output
    assert "Demo clinic loaded" in output


def test_create_user_follows_the_admin_pages_rules_and_is_audited_as_the_system(app, runner):
    from clinic.models import AuditEvent

    args = ["create-user", "rita", "--role", "nurse", "--password-stdin"]
    assert runner.invoke(args=args, input="a-long-enough-password\n").exit_code == 0
    with app.app_context():
        [event] = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "user.create")
        ).all()
        assert (event.username, event.user_id) == ("system", None)
    # Names are unique ignoring case, as on the admin page; a space is refused there too.
    for name in ("RITA", "rita smith"):
        result = runner.invoke(
            args=["create-user", name, "--role", "nurse", "--password-stdin"],
            input="a-long-enough-password\n",
        )
        assert result.exit_code != 0, name
    assert counts(app)["User"] == 1


def test_the_cli_and_the_token_services_do_not_load_the_api():
    code = (
        "import sys, clinic.cli, clinic.accounts; "
        "assert 'clinic.api' not in sys.modules, 'the API blueprint was loaded'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
