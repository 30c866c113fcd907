"""Load every page of the built website in headless Chromium, with the network blocked, and report problems.

Usage: python tools/browser_check.py SITE_DIR [--screenshots DIR]

The site is served from 127.0.0.1 (as a reader's local copy would be); every request to another host is
blocked and reported. For each page it checks: MathJax typeset every formula without errors, every image
loaded, every same-site link points to an existing page and anchor, the browser console shows no error and
no resource failed to load, stored widgets rendered. The layout is checked on the same page load at two widths:
at 1280 px every image is shown at ≥ 90 % of its intended width (the width in its metadata, else its natural
width) and no code cell or output scrolls horizontally; then at 390 px (a phone) the page is no wider than the
screen and display math and tables that are too wide scroll inside their own box (neither clipped nor widening the
page). The API reference pages open with their summary table and list their entries in the right-hand table of
contents. It saves a full-page screenshot of each page (at 1280 px). Exit status 1 when any page has a problem.
Used by tests/test_browser.py (part of the test command).
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
  // On a busy machine the network can be idle while a long page is still being parsed, before its deferred scripts
  // (MathJax among them) have run: wait for the load event, then for MathJax to start (window.MathJax is only the
  // configuration object until its script has run), up to 30 s and 10 s.
  const sleep = () => new Promise(r => setTimeout(r, 100));
  for (let i = 0; i < 300 && document.readyState !== 'complete'; i++) { await sleep(); }
  const started = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
  for (let i = 0; i < 100 && document.querySelector('.math') && !started(); i++) { await sleep(); }
  if (started()) { await MathJax.startup.promise; }
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
DESKTOP_PX, PHONE_PX = 1280, 390
MIN_IMAGE_SCALE = 0.9  # displayed width / intended width at DESKTOP_PX
API_DIR = "book/appendix/api/"  # one page per subpackage
MIN_API_TOC_ENTRIES = 5

# At DESKTOP_PX: images shown below their intended width, code cells and outputs that scroll horizontally.
DESKTOP_PROBE = r"""(minScale) => {
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    [...e.classList].slice(0, 3).map(c => '.' + c).join('');
  const cells = [...document.querySelectorAll('.cell')];
  const where = e => { const c = e.closest('.cell'); return c ? `cell ${cells.indexOf(c) + 1}` : 'text'; };
  const images = [];
  for (const img of document.querySelectorAll('article img')) {
    if (!img.naturalWidth || !img.getClientRects().length) continue;  // broken (reported elsewhere) or not shown
    const px = img.style.width.endsWith('px') ? parseFloat(img.style.width) : NaN;
    const intended = parseFloat(img.getAttribute('width')) || px || img.naturalWidth;
    const shown = img.getBoundingClientRect().width;
    if (shown < minScale * intended) {
      images.push(`image shown at ${Math.round(100 * shown / intended)} % of its intended width ` +
        `(${Math.round(shown)} of ${Math.round(intended)} px, natural ${img.naturalWidth} px) in ${where(img)}: ` +
        img.src.split('/').pop().slice(0, 60));
    }
  }
  const code = [];
  const boxes = document.querySelectorAll(
    'article .cell_input pre, article .cell_output pre, article .cell_output .output');
  for (const box of boxes) {
    if (box.scrollWidth > box.clientWidth + 1 && box.getClientRects().length) {
      const kind = box.closest('.cell_input') ? 'code cell' : 'output';
      code.push(`${kind} scrolls horizontally in ${where(box)} (${name(box)}: content ${box.scrollWidth} px ` +
        `in ${box.clientWidth} px): ${box.textContent.trim().split('\n')[0].slice(0, 60)}`);
    }
  }
  return images.concat(code);
}"""

# After the resize: plotly figures (responsive) redraw at the new width, as on a phone turned or a window narrowed
# (plotly does it from its resize handler, debounced; here it is awaited), then the page lays out twice.
RELAYOUT = r"""async () => {
  if (window.Plotly) {
    await Promise.all([...document.querySelectorAll(".js-plotly-plot")].map((gd) => window.Plotly.Plots.resize(gd)));
  }
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
}"""

# At PHONE_PX: the page is no wider than the screen; wide display math and tables scroll inside their box.
PHONE_PROBE = r"""() => {
  const vw = document.documentElement.clientWidth;
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    [...e.classList].slice(0, 3).map(c => '.' + c).join('');
  const problems = [];
  const pageWidth = document.documentElement.scrollWidth;
  if (pageWidth > vw + 1) {
    const sidebars = '.bd-sidebar-primary, .bd-sidebar-secondary, .bd-header';
    const scrolled = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true; } return false; };
    const wide = [...document.querySelectorAll('body *')].filter(e => {
      const r = e.getBoundingClientRect(), p = e.parentElement;
      return r.width && p && r.right > vw + 1 && p.getBoundingClientRect().right <= vw + 1 && !e.closest(sidebars)
        && !scrolled(e);
    });
    problems.push(`page ${pageWidth} px wide at a ${vw} px screen; widest: ` + wide.slice(0, 3).map(e =>
      `${name(e)} to ${Math.round(e.getBoundingClientRect().right)} px ("${e.textContent.trim().slice(0, 30)}")`
    ).join(', '));
  }
  const boxes = [...document.querySelectorAll('article mjx-container[display="true"], article table')];
  for (const box of boxes) {
    if (!box.getClientRects().length || box.parentElement.closest('table, mjx-container')) continue;
    const kind = box.tagName === 'TABLE' ? 'table' : 'display math';
    const text = box.textContent.trim().replace(/\s+/g, ' ').slice(0, 40);
    const content = Math.max(box.scrollWidth, ...[...box.children].map(c => c.getBoundingClientRect().width));
    // The nearest box from the element up that cuts its content: it must scroll, and fit the screen.
    let clip = null;
    for (let a = box; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') { clip = a; break; }
    }
    const room = clip ? clip.clientWidth : vw;
    if (content <= room + 1) continue;
    if (!clip) {
      problems.push(`${kind} widens the page (${Math.round(content)} px at a ${vw} px screen): ${text}`);
    } else if (!/auto|scroll/.test(getComputedStyle(clip).overflowX)) {
      problems.push(
        `${kind} clipped by ${name(clip)} (${Math.round(content)} px in ${room} px, no scroll bar): ${text}`);
    } else if (clip.getBoundingClientRect().right > vw + 1) {
      problems.push(`${kind} scrolls in a box wider than the screen (${name(clip)} to ` +
        `${Math.round(clip.getBoundingClientRect().right)} px at ${vw} px): ${text}`);
    }
  }
  return problems;
}"""

API_PROBE = """() => ({
  summary: document.querySelectorAll('article table.autosummary').length,
  toc: [...document.querySelectorAll('#pst-page-toc-nav a')].filter(a => a.getClientRects().length).length,
})"""


def check_site(
    site: Path,
    screenshots: Path | None = None,
    pages: list[str] | None = None,
    solutions_allowed: bool = True,
    api_dir: str | None = API_DIR,
) -> dict[str, list[str]]:
    """Check every HTML page of ``site`` (or the ``pages`` given, relative paths); returns {page: [problems]}.

    An empty list means the page is fine. With ``solutions_allowed=False`` a page showing a solution of an
    exercise is a problem too (the site without solutions). The pages under ``api_dir`` are the API reference: each
    must show a summary table and at least ``MIN_API_TOC_ENTRIES`` entries in its right-hand table of contents;
    when the whole site is checked, a site without such pages is reported under the key ``api_dir``.
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
            context = browser.new_context(viewport={"width": DESKTOP_PX, "height": 900})
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
                problems += page.evaluate(DESKTOP_PROBE, MIN_IMAGE_SCALE)
                if api_dir is not None and rel.startswith(api_dir):
                    api = page.evaluate(API_PROBE)
                    if not api["summary"]:
                        problems.append("API page without its summary table")
                    if api["toc"] < MIN_API_TOC_ENTRIES:
                        problems.append(
                            f"API page shows {api['toc']} entries in its right-hand table of contents "
                            f"(at least {MIN_API_TOC_ENTRIES} expected)"
                        )
                if screenshots is not None:
                    shot = screenshots / (rel.replace("/", "__").removesuffix(".html") + ".png")
                    # A full-page image of a very long page is unreadable and slow to take.
                    tall = page.evaluate("document.documentElement.scrollHeight") > MAX_FULL_PAGE_PX
                    page.screenshot(path=str(shot), full_page=not tall)
                # The same page on a phone: resized, not loaded again.
                page.set_viewport_size({"width": PHONE_PX, "height": 900})
                page.evaluate(RELAYOUT)
                problems += [f"at {PHONE_PX} px: {p}" for p in page.evaluate(PHONE_PROBE)]
                report[rel] = sorted(set(problems))
                page.close()
            browser.close()
    finally:
        server.shutdown()
    if pages is None and api_dir is not None and not any(rel.startswith(api_dir) for rel in report):
        report[api_dir] = [f"no API reference pages under {api_dir}"]
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
