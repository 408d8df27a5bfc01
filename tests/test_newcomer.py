"""What a newcomer meets first: where `clinic serve` keeps the data, a port that is taken, and a
README whose commands and role table are the code's."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from clinic import create_app
from clinic.cli import register_commands
from clinic.permissions import PERMISSION_TEXT, ROLE_PERMISSIONS, Permission

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CLINIC = os.path.join(os.path.dirname(sys.executable), "clinic")


def test_the_data_folder_is_instance_in_the_working_folder_however_the_package_is_installed(
    tmp_path, monkeypatch
):
    # Flask's own default follows the install (<venv>/var/clinic-instance for `pip install .`,
    # the checkout for `pip install -e .`): the README's test command, which reinstalls
    # editable into the same venv, then moved the clinic to an empty database.
    monkeypatch.delenv("CLINIC_INSTANCE_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    app = create_app({"DATABASE_URL": "sqlite://", "TESTING": True})
    assert Path(app.instance_path) == tmp_path / "instance"
    assert (tmp_path / "instance" / "secret_key").exists()


def test_serve_refuses_a_taken_port_in_one_line_before_starting_anything(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {key: value for key, value in os.environ.items() if not key.startswith("CLINIC_")}
        env["CLINIC_INSTANCE_PATH"] = str(tmp_path)
        result = subprocess.run(
            [CLINIC, "serve", "--port", str(port), "--demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines() == [
        f"Error: Port {port} on 127.0.0.1 is already in use (is the clinic already running?). "
        "Stop that program or start with --port N."
    ]
    assert "Traceback" not in result.stdout + result.stderr
    # It said where the data is, and never claimed to run or printed the logins.
    assert f"Data folder: {tmp_path}" in result.stdout
    assert f"Database: sqlite:///{tmp_path / 'clinic.db'}" in result.stdout
    assert "running" not in result.stdout
    assert "demo login" not in result.stdout
    # Nothing was migrated or seeded: the database was never opened.
    assert not (tmp_path / "clinic.db").exists()


def test_readme_commands_table_lists_every_command():
    app = create_app({"DATABASE_URL": "sqlite://", "TESTING": True, "INSTANCE_PATH": "/tmp"})
    names = set(app.cli.list_commands(None))  # type: ignore[arg-type]
    assert {"create-token", "list-tokens", "revoke-token", "serve", "worker"} <= names
    table = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `clinic ([a-z-]+)", table, flags=re.M))
    ours = names - {"routes", "shell", "run"}  # Flask's own
    assert listed == ours, (sorted(ours - listed), sorted(listed - ours))
    assert register_commands  # the one place commands are registered


def role_table() -> str:
    """The README's "who may do what" table, generated from clinic/permissions.py."""
    roles = list(ROLE_PERMISSIONS)
    lines = [
        "| may | " + " | ".join(role.value for role in roles) + " |",
        "| --- |" + " :---: |" * len(roles),
    ]
    for permission in Permission:
        marks = ["yes" if permission in ROLE_PERMISSIONS[role] else "—" for role in roles]
        lines.append(f"| {PERMISSION_TEXT[permission]} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def test_readme_role_table_is_the_one_permissions_py_defines():
    assert role_table() in README, "README's role table differs; paste this:\n" + role_table()


@pytest.mark.parametrize("permission", list(Permission))
def test_every_permission_is_described(permission):
    assert PERMISSION_TEXT[permission]
