"""A person at the page: Debian's chromium, driven by Playwright, draws digits with the mouse.

Skips (with the reason) only when chromium is missing outside CI; in CI it must run.
Screenshots land in artifacts/screenshots/ (the README's picture is one of them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .app_server import REPO, running_app
from .drawing import DIGIT_STROKES

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", REPO / "artifacts" / "screenshots"))
CANVAS = 560  # app.CANVAS

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)", allow_module_level=True)

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app") / "app.log") as url:
        yield url


class Page:
    """The app's page, with the moves a person makes."""

    def __init__(self, page):
        self.page = page

    def pick_brush(self) -> None:
        self.page.get_by_role("button", name="Brush").click()

    def draw(self, digit: int) -> None:
        """Replay the digit's strokes with the mouse, relative to the canvas centre (the editor auto-zooms)."""
        canvas = self.page.locator("#canvas canvas").first.bounding_box()
        zoom = int(re.findall(r"(\d+)%", self.page.locator("#canvas").inner_text())[0]) / 100
        side = CANVAS * zoom
        cx, cy = canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2
        for stroke in DIGIT_STROKES[digit]:
            points = [(cx + (x - 0.5) * 0.5 * side, cy + (y - 0.5) * 0.7 * side) for x, y in stroke]
            self.page.mouse.move(*points[0])
            self.page.mouse.down()
            for point in points[1:]:
                self.page.mouse.move(*point, steps=1)  # software WebGL: few events per stroke
            self.page.mouse.up()

    def verdict(self) -> str:
        return self.page.locator("#verdict").inner_text()

    def wait_for_answer(self, digit: int | None = None) -> str:
        """Wait until the page settles on an answer (for `digit`, if given); returns the verdict text."""
        expected = "%" if digit is None else f"{digit} ("
        try:
            self.page.wait_for_function(
                "t => document.querySelector('#verdict').innerText.includes(t)", arg=expected, timeout=30000)
        except Exception:
            pass  # the assertion below reports what the page shows
        self.page.wait_for_timeout(500)
        return self.verdict()

    def clear(self) -> None:
        self.page.get_by_role("button", name="Clear canvas").click()
        self.page.wait_for_function("document.querySelector('#verdict').innerText.includes('Draw a digit')",
                                    timeout=30000)
        self.pick_brush()


@pytest.mark.parametrize("theme, digits", [("light", list(range(10))), ("dark", [0, 2, 4, 7, 9])])
def test_drawn_digits_are_recognised_in_the_browser(browser, app_url, theme, digits):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 1200})
    page = Page(context.new_page())
    page.page.goto(app_url + ("?__theme=dark" if theme == "dark" else ""), wait_until="networkidle")
    assert "Draw a digit" in page.verdict()  # the empty state before anything is drawn
    page.pick_brush()
    recognised = {}
    for digit in digits:
        page.draw(digit)
        verdict = page.wait_for_answer(digit)
        recognised[digit] = verdict
        page.page.screenshot(path=str(SCREENSHOTS / f"{theme}_{digit}.png"), full_page=True)
        label = page.page.locator("#probabilities").inner_text()
        assert f"It's a {digit} (" in verdict, f"drew {digit}, the page says {verdict!r}"
        assert str(digit) in label and "%" in label
        assert page.page.locator("#diagnostics table").count() == 1
        assert page.page.locator("#views img").count() == 2  # the network's view and the heatmap
        page.clear()
        assert "Draw a digit" in page.verdict()  # the empty state after clearing
    page.page.screenshot(path=str(SCREENSHOTS / f"{theme}_cleared.png"), full_page=True)
    context.close()
    assert len(recognised) == len(digits)


def test_clear_button_and_upload_tab(browser, app_url, tmp_path):
    from PIL import Image

    from .drawing import draw_digit_layer

    context = browser.new_context(viewport={"width": 1280, "height": 1200})
    page = Page(context.new_page())
    page.page.goto(app_url, wait_until="networkidle")
    page.pick_brush()
    page.draw(1)
    page.wait_for_answer(1)
    page.page.get_by_role("button", name="Clear", exact=True).click()
    page.page.wait_for_function("document.querySelector('#verdict').innerText.includes('Draw a digit')",
                                timeout=30000)
    # Upload tab: a black-on-white picture of a 5 goes through the same preprocessing.
    layer = draw_digit_layer(5, 400, (120, 60, 160, 280), 26)
    Image.fromarray(255 - layer[:, :, 3]).save(tmp_path / "five.png")
    page.page.get_by_role("tab", name="Upload a photo").click()
    page.page.locator("#upload input[type=file]").set_input_files(str(tmp_path / "five.png"))
    assert "It's a 5 (" in page.wait_for_answer(5)
    page.page.screenshot(path=str(SCREENSHOTS / "upload_5.png"), full_page=True)
    context.close()

