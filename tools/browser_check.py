"""Load every page of the built website in headless Chromium, with the network blocked, and report problems.

Usage: python tools/browser_check.py SITE_DIR [--screenshots DIR]

The site is served from 127.0.0.1 (as a reader's local copy would be); every request to another host is
blocked and reported. For each page it checks: MathJax typeset every formula without errors, every image
loaded, every same-site link points to an existing page and anchor, the browser console shows no error and
no resource failed to load, stored widgets rendered. It saves a full-page screenshot of each page. Exit status 1
when any page has a problem. Used by tests/test_browser.py (part of the test command).
"""

from __future__ import annotations

import argparse
import functools
import re
import shutil
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Console messages of third-party code that are not errors of ours (matched as substrings).
THIRD_PARTY_CONSOLE_NOISE = (
    "Got invalid theme mode",
)  # pydata-sphinx-theme, empty localStorage on first load

PAGE_PROBE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const widgetViews = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
  for (let i = 0; i < 50 && widgetViews && !document.querySelector('.jupyter-widgets, .widget-slider'); i++) {
    await new Promise(r => setTimeout(r, 100));
  }
  const untypeset = [...document.querySelectorAll('.math')]
    .filter(e => !e.querySelector('mjx-container') && e.tagName !== 'MJX-CONTAINER')
    .map(e => e.textContent.slice(0, 80));
  const rawTex = [...document.querySelectorAll('article p, article li')]
    .filter(e => /\\$\\$|\\\\\\(|\\\\\\[/.test(e.textContent) && !e.closest('pre, code, .highlight'))
    .map(e => e.textContent.slice(0, 80));
  return {
    mathjax: !!window.MathJax,
    typeset: document.querySelectorAll('mjx-container').length,
    mathErrors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')].map(e => e.textContent.slice(0, 80)),
    untypeset: untypeset.concat(rawTex),
    brokenImages: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
    widgetViews: widgetViews,
    widgetsRendered: document.querySelectorAll('.jupyter-widgets, .widget-slider').length,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    solutions: document.querySelectorAll('div.solution').length,
  };
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def _ids_of(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    if path not in cache:
        cache[path] = set(re.findall(r'\bid="([^"]+)"', path.read_text(errors="replace")))
    return cache[path]


MAX_FULL_PAGE_PX = 20_000


def check_site(
    site: Path, screenshots: Path | None = None, pages: list[str] | None = None, solutions_allowed: bool = True
) -> dict[str, list[str]]:
    """Check every HTML page of ``site`` (or the ``pages`` given, relative paths); returns {page: [problems]}.

    An empty list means the page is fine. With ``solutions_allowed=False`` a page showing a solution of an
    exercise is a problem too (the site without solutions).
    """
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError(
            "Chromium not found: install Debian's package `chromium` (bash tasks.sh test does)"
        )
    site = site.resolve()
    if pages is None:
        found = sorted(p for p in site.rglob("*.html") if not {"_static", "_sources", "_images"} & set(p.parts))
    else:
        found = [site / p for p in pages]
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    report: dict[str, list[str]] = {}
    id_cache: dict[Path, set[str]] = {}
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            # Full-page screenshots of long pages take tens of seconds on a busy 2-core machine (30 s is the default).
            context.set_default_timeout(120_000)
            problems: list[str] = []

            def route(r):
                if r.request.url.startswith(origin + "/") or r.request.url.startswith("data:"):
                    r.continue_()
                else:
                    problems.append(f"request to an external host blocked: {r.request.url}")
                    r.abort()

            context.route("**/*", route)
            for page_path in found:
                rel = page_path.relative_to(site).as_posix()
                problems = []
                page = context.new_page()
                page.on(
                    "console",
                    lambda m, problems=problems: (
                        m.type == "error"
                        and not any(s in m.text for s in THIRD_PARTY_CONSOLE_NOISE)
                        and problems.append(f"console error: {m.text[:200]}")
                    ),
                )
                page.on("pageerror", lambda e, problems=problems: problems.append(f"page error: {e}"))
                page.on(
                    "requestfailed",
                    lambda r, problems=problems: (
                        r.url.startswith(origin)
                        and problems.append(f"failed to load {r.url[len(origin) :]}: {r.failure}")
                    ),
                )
                page.on(
                    "response",
                    lambda r, problems=problems: (
                        r.status >= 400 and problems.append(f"HTTP {r.status} for {r.url[len(origin) :]}")
                    ),
                )
                page.goto(f"{origin}/{rel}", wait_until="networkidle")
                info = page.evaluate(PAGE_PROBE)
                problems += __import__("web_twin_check").check_web_twins(page)  # tools/web_twin_check.py
                problems += [f"MathJax error: {t}" for t in info["mathErrors"]]
                problems += [f"untypeset math: {t!r}" for t in info["untypeset"]]
                problems += [f"broken image: {src}" for src in info["brokenImages"]]
                if info["solutions"] and not solutions_allowed:
                    problems.append(f"{info['solutions']} solution(s) shown on a site without solutions")
                if info["widgetViews"] and not info["widgetsRendered"]:
                    problems.append(f"{info['widgetViews']} stored widget(s) did not render")
                for href in info["links"]:
                    url, frag = urldefrag(href)
                    if not url.startswith(origin + "/"):
                        continue
                    target = site / unquote(urlparse(url).path.lstrip("/"))
                    if target.is_dir():
                        target = target / "index.html"
                    if not target.exists():
                        problems.append(f"broken link: {href[len(origin) :]}")
                    elif frag and target.suffix == ".html" and unquote(frag) not in _ids_of(target, id_cache):
                        problems.append(f"broken anchor: {href[len(origin) :]}")
                if screenshots is not None:
                    shot = screenshots / (rel.replace("/", "__").removesuffix(".html") + ".png")
                    # A full-page image of a very long page (the API reference) is unreadable and slow to take.
                    tall = page.evaluate("document.documentElement.scrollHeight") > MAX_FULL_PAGE_PX
                    page.screenshot(path=str(shot), full_page=not tall)
                report[rel] = sorted(set(problems))
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="built site folder (e.g. _build/html)")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for full-page screenshots")
    args = parser.parse_args(argv)
    report = check_site(args.site, args.screenshots)
    bad = 0
    for page, problems in report.items():
        print(f"{'ok  ' if not problems else 'FAIL'} {page}")
        for p in problems:
            print(f"       {p}")
        bad += bool(problems)
    print(f"{len(report) - bad} pages ok, {bad} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
