"""ASVS 7.1.1: secrets in paths (the calendar feed's token today) and query strings never
reach a log: one redaction (``clinic.redaction``) for the app's own log lines, the built-in
server's access log and gunicorn's (``config/gunicorn.conf.py``)."""

from __future__ import annotations

import datetime as dt
import logging
import runpy
import threading
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from clinic.redaction import redact
from clinic.serving import ClinicRequestHandler

ROOT = Path(__file__).resolve().parents[2]
# What secrets.token_urlsafe(32) makes (fixed: xdist workers must collect the same tests).
TOKEN = "QVSy31lnWaf6GOy-856VQgHZ3UWQdv2OdU1s1p-pGXw"
LINK_TOKEN = "YD2DtBgEjwRW1ZZ3HjXOJw"


@pytest.mark.parametrize(
    "line,secret",
    [
        (f'"GET /calendar/{TOKEN}.ics HTTP/1.1" 404', TOKEN),
        ('"GET /calendar/shorttoken.ics HTTP/1.1" 404', "shorttoken"),
        ('"GET /patients/?q=Jane+Doe HTTP/1.1" 200', "Jane"),
        (f"/p/{LINK_TOKEN}/confirm", LINK_TOKEN),  # a patient link to come
        (f"/waitlist/claim/{LINK_TOKEN}", LINK_TOKEN),  # a claim link to come
        (f"/somewhere/new/{TOKEN}", TOKEN),  # a secret link nobody listed yet
    ],
    ids=["feed", "short-feed", "query", "patient-link", "claim-link", "unlisted-token"],
)
def test_redact_hides_secrets_in_paths_and_queries(line, secret):
    cleaned = redact(line)
    assert secret not in cleaned
    assert "[hidden]" in cleaned or "[query hidden]" in cleaned
    assert redact(cleaned) == cleaned  # idempotent: redacting twice changes nothing


def test_ordinary_paths_are_kept():
    for line in ['"GET /patients/12 HTTP/1.1" 200', "/admin/treatment-types/3", "/board/day"]:
        assert redact(line) == line


def test_the_apps_own_log_lines_are_redacted(app, caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("clinic.web").error("unhandled error on GET /calendar/%s.ics", TOKEN)
    assert caplog.records and TOKEN not in caplog.text
    assert "/calendar/[hidden].ics" in caplog.text


def test_the_built_in_servers_access_log_hides_the_feed_token(app, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=ClinicRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/calendar/{TOKEN}.ics?x=Jane"
        try:
            urllib.request.urlopen(url, timeout=10).close()
        except urllib.error.HTTPError as error:
            error.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert "/calendar/[hidden].ics?[query hidden]" in caplog.text
    assert TOKEN not in caplog.text and "Jane" not in caplog.text


def test_gunicorns_access_log_hides_the_feed_token_whatever_the_format(app, tmp_path):
    from gunicorn.config import Config

    settings = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    log_file = tmp_path / "access.log"
    config = Config()
    config.set("accesslog", str(log_file))
    # The format README used to advise, plus every request atom a deployer might add.
    config.set("access_log_format", '%(h)s "%(r)s" %(U)s %(q)s %(f)s {raw_uri}e {query_string}e')
    logger = settings["logger_class"](config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/calendar/{TOKEN}.ics?q=Jane",
        "PATH_INFO": f"/calendar/{TOKEN}.ics",
        "QUERY_STRING": "q=Jane",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_REFERER": f"https://clinic.example/calendar/{TOKEN}.ics?q=Jane",
    }
    response = SimpleNamespace(status="404 NOT FOUND", sent=10, headers=[])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    try:
        logger.access(response, request, environ, dt.timedelta(milliseconds=5))
    finally:
        for handler in list(logger.access_log.handlers):
            handler.close()
            logger.access_log.removeHandler(handler)
    logged = log_file.read_text()
    assert "GET /calendar/[hidden].ics" in logged
    assert TOKEN not in logged and "Jane" not in logged
    assert settings["logger_class"].__module__ != "gunicorn.glogging"
