"""Real Chromium (Debian's package) driven by Playwright, through the gateway: sign-in, screenshots, waits.

Playwright's own browser download is never used: `executable_path` names Debian's chromium, which
deploy/bootstrap.sh installs with the playwright package pinned in deploy/requirements-dev.txt.
"""

from __future__ import annotations

import re

from playwright.async_api import Browser, Dialog, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout
from site_support import SCREENSHOTS, Site

CHROMIUM = "/usr/bin/chromium"
WIDTHS = (1280, 390)  # a desk and a phone: every screen is kept at both


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()  # the screens confirm() before irreversible actions; the person says yes


async def sign_in(browser: Browser, site: Site, who: str) -> Page:
    """A fresh browser context (its own cookies) signed in through the form as `who`."""
    login = site.logins[who]
    context = await browser.new_context(base_url=site.url, viewport={"width": WIDTHS[0], "height": 900})
    context.set_default_timeout(30_000)
    page = await context.new_page()
    page.on("dialog", _accept)
    await page.goto("/login")
    await page.fill("input[name=username]", login.username)
    await page.fill("input[name=password]", login.password)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
    return page


async def shot(page: Page, name: str) -> None:
    """The screen as it is now at each width, under var/test/screenshots (not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        path = str(SCREENSHOTS / f"{name}-{width}.png")
        try:
            await page.screenshot(path=path, full_page=True, timeout=60_000)
        except PlaywrightTimeout:
            # A page that reloads itself (a finished run's progress) may move under a long capture.
            await page.wait_for_load_state()
            await page.screenshot(path=path, timeout=60_000)
    await page.set_viewport_size({"width": WIDTHS[0], "height": 900})


async def action_controls(page: Page) -> list[str]:
    """Every control on the page that changes something (all but sign-out and GET filter forms)."""
    found: list[str] = await page.eval_on_selector_all(
        "[data-action], form[method=post]:not([action='/logout'])",
        "els => els.map(e => e.outerHTML.slice(0, 120))",
    )
    return found
