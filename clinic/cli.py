"""Command line: ``clinic COMMAND`` (also ``flask --app clinic COMMAND``).

Commands parse their arguments and call the same services as the web UI (accounts, demo,
jobs), acting as the system actor and reading the app clock; a refusal exits non-zero with
the service's own message.
"""

from __future__ import annotations

import logging
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from . import clock
from .audit import SYSTEM
from .errors import DomainError
from .extensions import db
from .models.user import Role
from .serving import PortUnavailable, listening_server


def register_commands(app: Flask) -> None:
    for command in (init_command, seed_demo_command, create_user_command, serve_command):
        app.cli.add_command(command)
    app.cli.add_command(worker_command)
    for command in (create_token_command, list_tokens_command, revoke_token_command):
        app.cli.add_command(command)
    app.cli.add_command(reset_two_factor_command)


def refusal(error: DomainError) -> click.ClickException:
    """A service's refusal as a command error: every field's reason, in the service's words."""
    return click.ClickException(" ".join(error.fields.values()) or error.message)


def migrate_to_head() -> None:
    upgrade()


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database schema to the latest migration."""
    migrate_to_head()
    click.echo("Database is at the latest schema.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load a demo clinic (safe to run again: nothing is duplicated)."""
    from .demo import seed_demo

    report = seed_demo(db.session(), now=clock.now())
    click.echo(report.summary())


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role", type=click.Choice([role.value for role in Role]), required=True, help="Role."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user_command(username: str, role: str, password_stdin: bool) -> None:
    """Create a user who can log in (the same rules and audit row as the admin page)."""
    from .accounts import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        create_user(db.session(), username=username, role=role, password=password, actor=SYSTEM)
    except DomainError as error:
        raise refusal(error) from error
    click.echo(f"User {username} ({role}) created.")


@click.command("reset-two-factor")
@click.argument("username")
@with_appcontext
def reset_two_factor_command(username: str) -> None:
    """Remove USERNAME's authenticator and recovery codes (e.g. the last administrator lost
    their phone); audited. An administrator enrols again at the next login."""
    from .accounts.two_factor import reset_two_factor_by_name

    try:
        reset_two_factor_by_name(db.session(), username=username, actor=SYSTEM, now=clock.now())
    except DomainError as error:
        raise refusal(error) from error
    click.echo(f"Two-factor login of {username} reset; they set it up again at their next login.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--demo", is_flag=True, help="Load the demo clinic when the database is empty.")
@with_appcontext
def serve_command(host: str, port: int, demo: bool) -> None:
    """Migrate, optionally seed the demo, then serve the clinic with its dispatcher."""
    from .demo import DEMO_USERS, database_is_empty, seed_demo

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"Data folder: {app.instance_path}")
    click.echo(f"Database: {database_shown(app.config['SQLALCHEMY_DATABASE_URI'])}")
    # The port first: when it is taken nothing is migrated, seeded or started.
    try:
        server = listening_server(host, port, app)
    except PortUnavailable as error:
        click.echo(f"Error: {error.message}", err=True)
        sys.exit(2)
    try:
        migrate_to_head()
        try:
            if demo and database_is_empty(db.session()):
                click.echo(seed_demo(db.session(), now=clock.now()).summary())
        finally:
            # This command's app context lasts as long as the server: a transaction left
            # open here (the emptiness check's, on a database that already has data) would
            # hold SQLite's write lock against every request and job until shutdown.
            db.session.remove()
        start_background_jobs(app)
    except BaseException:
        server.server_close()
        raise
    click.echo(f"Clinic is running at http://{host}:{server.port}/ (stop with Ctrl-C)")
    if demo:
        for username, role, password in DEMO_USERS:
            click.echo(f"  demo login ({role}): {username} / {password}")
    # No reloader: it would fork a child and run the dispatcher twice. The handler names no
    # server version and keeps secrets in paths out of the access log.
    server.serve_forever()


def database_shown(url: str) -> str:
    """The database URL without its password (it may be printed or logged)."""
    return make_url(url).render_as_string(hide_password=True)


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run the background jobs (the notification dispatcher) until SIGTERM or Ctrl-C."""
    from . import jobs

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not logging.getLogger().handlers:
        # A worker's log is its only output: what was sent, retried, failed (ids only).
        logging.basicConfig(
            level=str(app.config.get("LOG_LEVEL", "INFO")).upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        # APScheduler announces every run at INFO: every few seconds, forever.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    click.echo("Worker running; stop with Ctrl-C or SIGTERM.")
    jobs.run_worker(app)
    click.echo("Worker stopped.")


@click.command("create-token")
@click.argument("username")
@click.option("--name", default="", help="What the token is for, e.g. 'EHR sync'.")
@with_appcontext
def create_token_command(username: str, name: str) -> None:
    """Create an API token for USERNAME and print it (shown this once only)."""
    from .accounts import create_token

    try:
        new = create_token(
            db.session(), username=username, name=name, actor=SYSTEM, now=clock.now()
        )
    except DomainError as error:
        raise refusal(error) from error
    click.echo(new.plain)
    click.echo(
        f"Token {new.token.id} for {username} created. Store it now: it is not shown again. "
        "Send it as 'Authorization: Bearer <token>'.",
        err=True,
    )


@click.command("list-tokens")
@click.option("--all", "show_all", is_flag=True, help="Include revoked tokens.")
@with_appcontext
def list_tokens_command(show_all: bool) -> None:
    """List API tokens (their first characters only; the tokens themselves are not kept)."""
    from .accounts import list_tokens

    tokens = list_tokens(db.session(), include_revoked=show_all)
    if not tokens:
        click.echo("No API tokens.")
        return
    for token in tokens:
        used = token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "never"
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        click.echo(
            f"{token.id:>5}  {token.prefix}…  {token.user.username:<20} {state:<18} "
            f"created {token.created_at:%Y-%m-%d}  last used {used}  {token.name}"
        )


@click.command("revoke-token")
@click.argument("token_id", type=click.IntRange(min=1, max=2**31 - 1))
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke the API token with id TOKEN_ID (see list-tokens); it stops working at once."""
    from .accounts import revoke_token

    try:
        revoke_token(db.session(), token_id=token_id, actor=SYSTEM, now=clock.now())
    except DomainError as error:
        raise refusal(error) from error
    click.echo(f"Token {token_id} revoked.")


def start_background_jobs(app: Flask) -> None:
    from . import jobs

    jobs.start(app)


def main() -> None:
    from . import create_app

    cli = FlaskGroup(create_app=create_app, help="Scheduling for ketamine infusion clinics.")
    cli.main(prog_name="clinic")
