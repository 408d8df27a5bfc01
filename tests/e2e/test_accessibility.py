"""axe-core on every page (tests/e2e/site.py), on a laptop and on a phone: no critical or
serious violation (issue 16, "Accessibility").

axe-core comes from the npm registry: ``.ci/run`` installs it into ``.ci/node`` (by hand:
``npm install --prefix .ci/node axe-core@4``); CLINIC_AXE_JS may point at another copy of
``axe.min.js``. Without it the test skips with that reason, unless CLINIC_REQUIRE_BROWSER=1
(CI), where it fails.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import REQUIRE_BROWSER
from tests.e2e.site import Site, shape

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = Path(
    os.environ.get("CLINIC_AXE_JS")
    or ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
)
BLOCKING = ("critical", "serious")
LAPTOP, PHONE = 1366, 390
WIDTHS = (LAPTOP, PHONE)

# axe.run in the page (injected through the DevTools protocol, which the page's CSP does not
# govern); only the violations, each as "rule (impact): help: the first offending nodes".
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '')
      .replace(/\\s+/g, ' ').slice(0, 160)),
  }));
}"""


@pytest.fixture(scope="session")  # before the site is built: skip early
def axe_source() -> str:
    if not AXE_JS.exists():
        reason = (
            f"the accessibility test needs axe-core at {AXE_JS} "
            "(npm install --prefix .ci/node axe-core@4)"
        )
        if REQUIRE_BROWSER:
            pytest.fail(f"CLINIC_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return AXE_JS.read_text()


def one_per_shape(paths: list[str]) -> list[str]:
    """One page per route shape (the session pages differ by state, not by layout)."""
    chosen: dict[str, str] = {}
    for path in paths:
        chosen.setdefault(shape(path.split("?", 1)[0]), path)
    return list(chosen.values())


def violations(page: Any, axe_source: str, name: str) -> list[str]:
    page.evaluate(axe_source)
    found = page.evaluate(RUN_AXE)
    return [
        f"{name}: {v['id']} ({v['impact']}): {v['help']}: {v['nodes']}"
        for v in found
        if v["impact"] in BLOCKING
    ]


def test_no_page_has_a_critical_or_serious_axe_violation(axe_source: str, site: Site, browser: Any):
    """Every page at 1366 px; at 390 px the pages whose phone layout differs in more than
    widths (tables as stacked rows, the folded menu), one per route, to keep the walk short."""
    page = site.context.new_page()
    problems: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in site.pages if width == LAPTOP else one_per_shape(site.pages):
            page.goto(site.url + path)
            if width == PHONE and not page.locator("table.stacked").count():
                continue
            problems += violations(page, axe_source, f"{path} at {width} px")
        for name, show in site.scripted.items():
            show(page)
            problems += violations(page, axe_source, f"{name} at {width} px")
    if site.pages:
        # The phone menu, opened.
        page.goto(site.url + site.pages[0])
        page.get_by_role("button", name="Menu").click()
        problems += violations(page, axe_source, "the open phone menu")
    page.close()
    anonymous = browser.new_context(locale="en-US")
    page = anonymous.new_page()
    for path in site.logged_out:
        page.goto(site.url + path)
        problems += violations(page, axe_source, path)
    anonymous.close()
    assert not problems, "\n".join(problems)
