"""Every page on a phone (390 px), a tablet (768 px) and a laptop (1366 px): no sideways
page scroll, the menu folds on a phone, tables keep their key columns in view, and the
printed day sheet leaves out its own buttons (issue 16, "Phone and tablet", "Day sheet")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.site import Site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PHONE, TABLET, LAPTOP = 390, 768, 1366
HEIGHT = 844

# The page's own width against the viewport, and the elements that stick out of it (not
# counting those inside a box that scrolls or clips on its own): what to fix.
OVERFLOW_JS = """() => {
  const root = document.documentElement;
  const limit = root.clientWidth;
  const clips = ['auto', 'scroll', 'hidden', 'clip'];
  const name = (el) => el.tagName.toLowerCase()
    + (typeof el.className === 'string' && el.className ? '.' + el.className.trim()
      .split(/\\s+/).join('.') : '');
  const culprits = [];
  if (root.scrollWidth > limit) {
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.right <= limit + 1 || box.width === 0) continue;
      let inner = false;
      for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
        const style = getComputedStyle(up);
        if (style.display.startsWith('table')) continue;
        if (clips.includes(style.overflowX)) { inner = true; break; }
      }
      if (!inner) culprits.push(name(el) + ' ' + Math.round(box.right));
      if (culprits.length > 6) break;
    }
  }
  return {scroll: root.scrollWidth, client: limit, culprits: culprits};
}"""


def fits(page: Any, *, settle: bool = True) -> str | None:
    if settle:  # let the page react to the new size (clinic.js re-stacks tables next frame)
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
    measured = page.evaluate(OVERFLOW_JS)
    if measured["scroll"] <= measured["client"]:
        return None
    return f"{measured['scroll']} px wide in {measured['client']}: {measured['culprits']}"


def check_widths(page: Any, name: str, problems: list[str]) -> None:
    for width in (PHONE, TABLET, LAPTOP):
        page.set_viewport_size({"width": width, "height": HEIGHT})
        problem = fits(page)
        if problem:
            problems.append(f"{name} at {width} px: {problem}")


def test_every_page_fits_a_phone_a_tablet_and_a_laptop(site: Site, browser: Any):
    assert len(site.pages) >= 25, site.pages  # the crawl found the whole app
    assert not site.broken, site.broken
    page = site.context.new_page()
    problems: list[str] = []
    for path in site.pages:
        page.goto(site.url + path)
        check_widths(page, path, problems)
    for name, show in site.scripted.items():
        page.set_viewport_size({"width": LAPTOP, "height": HEIGHT})
        show(page)
        check_widths(page, name, problems)
    page.close()
    anonymous = browser.new_context(locale="en-US")
    page = anonymous.new_page()
    for path in site.logged_out:
        page.goto(site.url + path)
        check_widths(page, path, problems)
    anonymous.close()
    assert not problems, "\n".join(problems)


def in_view(locator: Any, width: int) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5


def test_the_menu_folds_behind_a_button_on_a_phone(site: Site):
    page = site.context.new_page()
    page.set_viewport_size({"width": PHONE, "height": HEIGHT})
    page.goto(site.url + "/board/")
    menu = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    assert menu.is_visible() and menu.get_attribute("aria-expanded") == "false"
    assert not nav.is_visible()
    assert page.locator("header.topbar").bounding_box()["height"] < 70  # one row
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    assert nav.get_by_role("link", name="Patients").is_visible()
    nav.get_by_role("link", name="Patients").click()
    page.wait_for_url("**/patients/")
    page.set_viewport_size({"width": LAPTOP, "height": HEIGHT})
    assert not page.get_by_role("button", name="Menu").is_visible()
    assert page.get_by_role("navigation", name="Main").is_visible()
    page.close()


def test_tables_keep_their_key_columns_in_view_on_a_phone(site: Site):
    page = site.context.new_page()
    page.set_viewport_size({"width": PHONE, "height": HEIGHT})
    page.goto(site.url + "/patients/?q=Tester")
    assert in_view(page.get_by_role("link", name="Book series").first, PHONE)
    page.goto(site.url + "/board/")
    sessions = page.locator(".sessions-table tbody tr").first
    assert in_view(sessions.locator(".badge").first, PHONE)  # the status
    site.scripted["series preview"](page)
    page.set_viewport_size({"width": PHONE, "height": HEIGHT})
    assert in_view(page.locator(".preview-table tbody tr").first.locator("td").last, PHONE)
    page.close()


def test_the_printed_day_sheet_leaves_out_its_buttons(site: Site):
    page = site.context.new_page()
    page.goto(site.url + "/board/sheet")
    assert page.get_by_role("button", name="Print").is_visible()
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Print").is_visible()
    assert not page.get_by_role("link", name="Back to the board").is_visible()
    assert not page.locator("header.topbar").is_visible()
    assert page.get_by_role("table").first.is_visible()
    page.close()


def test_without_scripts_a_phone_still_gets_no_sideways_scroll(site: Site, browser: Any):
    """The menu stays open and wide tables scroll inside their own box instead."""
    from tests.e2e.site import ADMIN, log_in

    context = browser.new_context(
        java_script_enabled=False, viewport={"width": PHONE, "height": HEIGHT}, locale="en-US"
    )
    page = context.new_page()
    log_in(page, site.url, ADMIN)
    problems: list[str] = []
    for path in ("/board/", "/board/sheet", "/patients/?q=Tester", f"/series/{site.day.series_id}"):
        page.goto(site.url + path)
        problem = fits(page, settle=False)
        if problem:
            problems.append(f"{path}: {problem}")
    assert page.get_by_role("navigation", name="Main").is_visible()
    context.close()
    assert not problems, "\n".join(problems)
