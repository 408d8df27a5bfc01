"""A manager opens every report in a real Chromium: each chart image decodes and draws its
series (within the page's CSP: a violation is a console error, which fails the test), and
the table with the same figures follows it."""

from __future__ import annotations

from typing import Any

import pytest

from clinic.extensions import db
from clinic.reports import REPORTS
from tests.builders import TEST_PASSWORD, make_user
from tests.e2e.conftest import ARTIFACTS, LiveServer
from tests.reports.world import DAY, NEXT_DAY, day_world, with_a_series

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Paint the decoded chart image onto a canvas and count the pixels in the first series'
# colour (#b42318, a strong red no axis, grid or label uses): the data was drawn.
DRAWN_MARKS = """
(img) => {
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0, img.width, img.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let marks = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i] > 140 && pixels[i + 1] < 90 && pixels[i + 2] < 90) marks += 1;
  }
  return {complete: img.complete, width: img.naturalWidth, marks: marks};
}
"""


def test_a_manager_sees_every_report_drawn(live_server: LiveServer, page: Any) -> None:
    with live_server.app.app_context():
        with_a_series(db.session, day_world(db.session))
        make_user(db.session, "manager-e2e", "manager")
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Username").fill("manager-e2e")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Reports").first.click()
    page.get_by_label("From").fill(DAY.isoformat())
    page.get_by_label("To").fill(NEXT_DAY.isoformat())
    page.get_by_role("button", name="Show").click()
    for key, title in REPORTS.items():
        page.get_by_role("link", name=title).first.click()
        page.wait_for_load_state("load")
        assert page.get_by_role("heading", level=1).inner_text() == title
        images = page.locator("figure.report-chart img")
        assert images.count() >= 1, key
        for index in range(images.count()):
            image = images.nth(index)
            image.scroll_into_view_if_needed()
            drawn = image.evaluate(DRAWN_MARKS)
            assert drawn["complete"] and drawn["width"] > 0, (key, drawn)
            if key != "messages":  # no message in this world: the chart says so instead
                assert drawn["marks"] > 0, (key, drawn)
        assert page.locator("table caption").count() >= 1
        page.screenshot(path=str(ARTIFACTS / f"report-{key}.png"), full_page=True)
