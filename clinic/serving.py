"""The built-in server behind ``clinic serve``: its socket, and a handler with no version.

Werkzeug's handler answers ``Server: Werkzeug/3.1.9 Python/3.11.7``, telling an attacker
which published flaws to try (ASVS 14.3.3); ``ClinicRequestHandler`` names only "clinic".
Its access log lines go through ``clinic.redaction`` like every other log line (the
"werkzeug" logger is redacted).

``listening_server`` binds the port before anything else starts, so a port that is taken
is one clear refusal, not a dispatcher started for nothing and a traceback.
"""

from __future__ import annotations

import errno
import socket

from werkzeug.serving import (
    BaseWSGIServer,
    WSGIRequestHandler,
    get_sockaddr,
    make_server,
    select_address_family,
)

from .errors import Refused

SERVER_NAME = "clinic"


class ClinicRequestHandler(WSGIRequestHandler):
    @property
    def server_version(self) -> str:  # type: ignore[override]
        return SERVER_NAME

    def version_string(self) -> str:
        return SERVER_NAME


class PortUnavailable(Refused):
    """The address to serve on cannot be bound (taken by another program, or not ours)."""


def listening_server(host: str, port: int, app: object) -> BaseWSGIServer:
    """A threaded server already listening on ``host:port``; ``PortUnavailable`` if it can't.

    The socket is bound here, not by Werkzeug, whose own failure prints two lines and exits 1.
    """
    family = select_address_family(host, port)
    address = get_sockaddr(host, port, family)
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As socketserver does: a restart may reuse a port whose old connections linger.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise PortUnavailable(
                f"Port {port} on {host} is already in use (is the clinic already running?). "
                "Stop that program or start with --port N."
            ) from error
        raise PortUnavailable(f"Cannot listen on {host}:{port}: {error.strerror}.") from error
    try:
        # Werkzeug duplicates the descriptor; ours is closed once it has its own.
        return make_server(
            host,
            port,
            app,  # type: ignore[arg-type]
            threaded=True,
            request_handler=ClinicRequestHandler,
            fd=listener.fileno(),
        )
    finally:
        listener.close()
