"""Every page of the app, for the tests that hold all of them to a rule (the layout at phone
width, axe-core): one server on a full clinic day (tests/fullday.py), one logged-in admin
browser context, and the list of pages, crawled from the home page so that a page someone
adds to the menu (or links from a page in it) is checked without being listed here.

The crawl follows GET links of the app's own HTML pages, one page per route shape (numbers
in the path count as one: /patients/3 and /patients/4 are the same page), plus the pages
that only a particular state shows (a session in each status, a search with results, the
series preview, which a form posts).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from clinic.accounts.two_factor import one_time_code, time_step
from clinic.extensions import db
from tests.builders import TEST_PASSWORD, TODAY, make_user
from tests.fullday import FULL_DAY_NOW, FullDay, build_full_day

ADMIN = "ada"
MAX_PAGES = 120
# Not pages: downloads, feeds, JSON and pictures.
SKIP_SUFFIXES = (".csv", ".ics", ".svg", ".json", ".txt", ".png", ".js", ".css")
SKIP_PREFIXES = ("/static/", "/calendar/", "/logout", "/api/")
# Pages no other page links to, and the first steps of the booking pages.
EXTRA_PAGES = (
    "/patients/",
    "/series/new",
    "/sessions/new",
    "/admin/api-tokens",
    "/api/v1/docs",
    "/no-such-page",
)


@dataclass
class Site:
    url: str
    day: FullDay
    context: Any  # the logged-in Playwright context, 1366 px wide
    pages: list[str]  # paths, with their query
    broken: list[str]  # pages that answered with a server error
    scripted: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    logged_out: tuple[str, ...] = ("/login",)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def shape(path: str) -> str:
    return re.sub(r"\d+", "<n>", path)


def _page_path(base: str, href: str) -> str | None:
    absolute = urljoin(base, href)
    parts = urlsplit(absolute)
    if parts.netloc != urlsplit(base).netloc:
        return None
    path = parts.path
    if path.endswith(SKIP_SUFFIXES) or path.startswith(SKIP_PREFIXES):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def crawl(request: Any, root: str, seeds: list[str]) -> tuple[list[str], list[str]]:
    """The site's HTML pages reachable from ``seeds``, one per route shape (seeds always),
    and those of them that failed with a server error."""
    pages: list[str] = []
    broken: list[str] = []
    shapes: set[str] = set()
    queue = list(seeds)
    seen: set[str] = set()
    while queue and len(pages) < MAX_PAGES:
        path = queue.pop(0)
        kind = shape(path.split("?", 1)[0])
        if path in seen or (path not in seeds and kind in shapes):
            continue
        seen.add(path)
        response = request.get(root + path, max_redirects=0)
        if response.status >= 500:
            broken.append(f"{path}: {response.status}")
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        if response.status >= 300 and path not in seeds:
            continue
        shapes.add(kind)
        pages.append(path)
        links = _Links()
        links.feed(response.text())
        for href in links.hrefs:
            found = _page_path(root + path, href)
            if found is not None and found not in seen:
                queue.append(found)
    return pages, broken


# The authenticator of each user who enrolled in this test run: (server, username) → secret,
# and the time steps already used (the server accepts each step once).
_AUTHENTICATORS: dict[tuple[str, str], str] = {}
_USED_STEPS: dict[tuple[str, str], set[int]] = {}


def _next_code(key: tuple[str, str]) -> str:
    """A code for a step the server has not taken yet, at the site's fixed clock (±1 step)."""
    current = time_step(FULL_DAY_NOW)
    used = _USED_STEPS.setdefault(key, set())
    step = next(step for step in range(current - 1, current + 2) if step not in used)
    used.add(step)
    return one_time_code(_AUTHENTICATORS[key], step)


def log_in(page: Any, root: str, username: str) -> None:
    """Log in as a person does: the password, then (admins) enrolment or a one-time code."""
    page.goto(f"{root}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/($|login/enrol$|login/code$)"))
    key = (root, username)
    if page.url.endswith("/login/enrol"):
        _AUTHENTICATORS[key] = page.locator("#two-factor-secret").inner_text().replace(" ", "")
        page.get_by_label("Code shown by the app").fill(_next_code(key))
        page.get_by_role("button", name="Confirm and log in").click()
        page.get_by_role("link", name="I have saved them, continue").click()
    elif page.url.endswith("/login/code"):
        page.get_by_label("Code from your authenticator app, or a recovery code").fill(
            _next_code(key)
        )
        page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/$"))


def _seeds(day: FullDay) -> list[str]:
    w = day.world
    patient = w.patients[0].id
    single = (
        f"/sessions/new?patient_id={patient}&treatment_type_id={w.iv.id}"
        f"&location_id={w.location.id}&date={TODAY.isoformat()}&find=1"
    )
    sessions = [
        day.booked,
        day.checked_in,
        day.monitoring,
        day.discharged,
        day.no_escort,
        day.cancelled,
        day.no_show,
    ]
    return [
        "/",
        "/board/",
        "/board/week",
        "/board/sheet",
        "/patients/?q=Tester",
        f"/patients/{patient}",
        f"/series/new?patient_id={patient}",
        f"/series/{day.series_id}",
        *(f"/sessions/{n}" for n in sessions),
        f"/sessions/{day.booked}/reschedule",
        f"/sessions/{day.booked}/cancel",
        "/sessions/new?q=Tester",
        single,
        *EXTRA_PAGES,
    ]


def series_preview(patient_id: int) -> Callable[[Any], None]:
    """The wizard's preview (a POST): the IV induction from today for the patient."""

    def show(page: Any) -> None:
        root = page.url.split("/", 3)[:3]
        page.goto("/".join(root) + f"/series/new?patient_id={patient_id}")
        protocol = page.locator("#protocol_id option", has_text="IV ketamine induction")
        page.get_by_label("Protocol", exact=True).select_option(protocol.get_attribute("value"))
        page.get_by_label("First date").fill(TODAY.isoformat())
        page.get_by_role("button", name="Show the preview").click()
        page.locator(".preview").wait_for()

    return show


@pytest.fixture(scope="session")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from tests.e2e.conftest import serve

    folder: Path = tmp_path_factory.mktemp("site")
    with serve(folder, FULL_DAY_NOW) as server:
        with server.app.app_context():
            day = build_full_day(db.session)
            make_user(db.session, ADMIN, "admin")
            seeds = _seeds(day)
            preview_patient = day.world.patients[1].id
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
        page = context.new_page()
        log_in(page, server.url, ADMIN)
        page.close()
        pages, broken = crawl(context.request, server.url, seeds)
        yield Site(
            url=server.url,
            day=day,
            context=context,
            pages=pages,
            broken=broken,
            scripted={"series preview": series_preview(preview_patient)},
        )
        context.close()
