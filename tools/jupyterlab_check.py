"""Open notebooks in a real JupyterLab (headless, on 127.0.0.1) in Chromium and check that their markdown renders.

Usage: python tools/jupyterlab_check.py NOTEBOOK [NOTEBOOK ...] [--plain] [--screenshots DIR]

The notebooks are copied into a temporary folder that JupyterLab serves, with a throw-away Jupyter configuration
(settings, workspaces, runtime files), so nothing of the user's set-up or of the repository is touched. Every
markdown cell is rendered at once (windowing off), and every request to another host is blocked. A notebook fails
when the visible text of a rendered markdown cell still shows MyST source — ``:label:``, ``:class:``, ``{prf:``,
``{exercise}``, ``{solution}``, ``:::{``, a ```` ``` ```` fence, a ``{cite}``/``{doc}``/``{ref}`` role, also inside
a code block, which is how JupyterLab shows a directive it does not know — or, outside code, untypeset math
(``$``, ``\\(``, ``\\[``, a TeX command); when a formula failed to typeset, no formula was typeset at all, a
markdown cell did not render, or the page raised an error. ``--plain`` runs JupyterLab with jupyterlab-myst
disabled (a student's JupyterLab without extensions): the check for the student edition. Screenshots of the top of
each notebook and of the first cell with an exercise, a theorem-like box and a citation are saved. The server is
stopped by its PID. Used by tests/test_jupyterlab.py (part of the test command); exit status 1 when a notebook has
a problem.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from browser_check import CHROMIUM_ARGS

MYST_EXTENSION = "jupyterlab-myst"
SERVER_START_TIMEOUT_S = 60
RENDER_TIMEOUT_MS = 60_000
VISIBLE_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
# JupyterLab settings for the check: render every cell (no windowing), fetch no news, check for no updates.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
# What a rendered cell must not show in its visible text (formulas removed; code blocks count: a directive that
# JupyterLab does not understand is shown as one).
RAW_MYST = (":label:", ":class:", "{prf:", "{exercise}", "{solution}", ":::{", "```", "{cite}", "{doc}", "{ref}")

# Runs in the page: waits until every markdown cell is rendered and its math typeset, then reports.
PROBE = r"""async ([NOTEBOOK, expected]) => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const cells = () => [...document.querySelectorAll(NOTEBOOK + ' .jp-MarkdownCell')];
  const output = c => c.querySelector('.jp-RenderedMarkdown, .jp-Cell-inputArea > .myst');
  const textWithout = (el, drop) => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll(drop).forEach(e => e.remove());
    return copy.textContent || '';
  };
  const MATH = '.katex, mjx-container, script, style';
  const visible = el => textWithout(el, MATH);
  const prose = el => textWithout(el, MATH + ', code, pre');
  const tex = /\$|\\\(|\\\[/;
  // Rendering is asynchronous (markdown first, math after): wait until every cell shows text, no TeX is left in
  // the prose and the page has not changed for two polls in a row.
  let last = '';
  for (let i = 0; i < 300; i++) {
    const cs = cells();
    const done = cs.length >= expected && cs.every(c => c.classList.contains('jp-mod-rendered') && output(c)
      && output(c).textContent.trim());
    const now = done ? cs.map(c => output(c).innerHTML.length).join(',') : '';
    if (done && now === last && !cs.some(c => tex.test(prose(output(c))))) break;
    last = now;
    await sleep(150);
  }
  return cells().map((c, i) => {
    const out = output(c);
    return {
      index: i,
      rendered: c.classList.contains('jp-mod-rendered') && !!out,
      text: out ? visible(out) : '',
      prose: out ? prose(out) : '',
      math: out ? out.querySelectorAll('.katex, mjx-container').length : 0,
      mathErrors: out ? [...out.querySelectorAll('.katex-error, mjx-merror, [data-mjx-error]')]
        .map(e => (e.getAttribute('title') || e.textContent).slice(0, 120)) : [],
    };
  });
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab_server(root: Path, plain: bool, workdir: Path) -> Iterator[tuple[str, str]]:
    """Run JupyterLab on 127.0.0.1 serving ``root``; yields its base URL and token. Stops it by its PID.

    ``plain`` disables jupyterlab-myst, which makes the server a JupyterLab without extensions for markdown.
    """
    config, settings = workdir / "config", workdir / "settings"
    for rel, value in LAB_SETTINGS.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(value))
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {MYST_EXTENSION: True} if plain else {}})
    )
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", "--ServerApp.allow_root=True", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--LabApp.extension_manager=readonly",
    ]  # fmt: skip
    with open(workdir / "server.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{(workdir / 'server.log').read_text()}")
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT_S} s") from None
                time.sleep(0.2)
        yield base, token
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def _problems(cells: list[dict], expected: int) -> list[str]:
    problems = []
    if len(cells) < expected:
        problems.append(f"{len(cells)} markdown cells shown, the notebook has {expected}")
    tex = re.compile(r"\$|\\\(|\\\[|\\[A-Za-z]{2,}")
    for cell in cells:
        where = f"markdown cell {cell['index'] + 1}"
        if not cell["rendered"]:
            problems.append(f"{where}: not rendered")
            continue
        text = cell["text"]
        for raw in RAW_MYST:
            if raw in text:
                at = text.index(raw)
                problems.append(f"{where}: raw MyST {raw!r} visible: {text[max(0, at - 40) : at + 60]!r}")
        m = tex.search(cell["prose"])
        if m:
            problems.append(f"{where}: untypeset math: {cell['prose'][max(0, m.start() - 40) : m.start() + 60]!r}")
        problems += [f"{where}: math error: {e}" for e in cell["mathErrors"]]
    if not any(cell["math"] for cell in cells):
        problems.append("no formula was typeset")
    return problems


# Which cell to photograph: the first markdown cell whose source shows each kind (book copy or student copy).
SHOT_KINDS = {
    "exercise": re.compile(r"\{exercise\}|^#+ Exercise \d", re.M),
    "theorem": re.compile(r"\{prf:(theorem|proposition|definition)\}|^\*\*(Theorem|Proposition|Definition) \d", re.M),
    "citation": re.compile(r"\{cite\}|\([A-Z][^()]* et al\., \d{4}\)"),
}


def _screenshot_cells(page, sources: list[str], stem: str, screenshots: Path) -> None:
    """Screenshots of the notebook's top and of the first cell showing an exercise, a theorem box, a citation."""
    page.screenshot(path=str(screenshots / f"{stem}__top.png"))
    cells = page.locator(f"{VISIBLE_NOTEBOOK} .jp-MarkdownCell")
    for kind, pattern in SHOT_KINDS.items():
        hit = next((i for i, src in enumerate(sources) if pattern.search(src)), None)
        if hit is not None:
            cells.nth(hit).screenshot(path=str(screenshots / f"{stem}__{kind}.png"))


def check_notebooks(
    notebooks: list[Path], plain: bool = False, screenshots: Path | None = None, edition: str | None = None
) -> dict[str, list[str]]:
    """Open each notebook in one JupyterLab and check its markdown; returns {notebook path: [problems]}.

    Screenshots are named ``{edition}__{folder}__{notebook}__{what}.png`` (edition: ``plain`` or ``myst`` unless
    given).
    """
    import nbformat
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("Chromium not found: install Debian's package `chromium` (bash tasks.sh test does)")
    edition = edition or ("plain" if plain else "myst")
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
    report: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="jupyterlab-check-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        opened = []
        for i, nb_path in enumerate(notebooks):
            name = f"{i}-{nb_path.name}"
            shutil.copy(nb_path, root / name)
            sources = [c.source for c in nbformat.read(nb_path, as_version=4).cells if c.cell_type == "markdown"]
            opened.append((nb_path, name, sources))
        with jupyterlab_server(root, plain, Path(tmp)) as (base, token), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1300, "height": 900})
            page_problems: list[str] = []

            def route(r):
                if r.request.url.startswith(base + "/") or r.request.url.startswith("data:"):
                    r.continue_()
                else:
                    page_problems.append(f"request to an external host blocked: {r.request.url}")
                    r.abort()

            context.route("**/*", route)
            for nb_path, name, sources in opened:
                page_problems.clear()
                page = context.new_page()
                page.on("pageerror", lambda e: page_problems.append(f"page error: {e}"))
                page.goto(f"{base}/lab/tree/{name}?reset&token={token}")
                page.wait_for_selector(f"{VISIBLE_NOTEBOOK} .jp-MarkdownCell", timeout=RENDER_TIMEOUT_MS)
                cells = page.evaluate(PROBE, [VISIBLE_NOTEBOOK, len(sources)])
                problems = _problems(cells, len(sources)) + page_problems
                if screenshots is not None:
                    stem = f"{edition}__{nb_path.parent.name}__{nb_path.stem}"
                    _screenshot_cells(page, sources, stem, screenshots)
                report[str(nb_path)] = sorted(set(problems))
                page.close()
            browser.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", type=Path, nargs="+", help="notebooks to open")
    parser.add_argument("--plain", action="store_true", help="JupyterLab with jupyterlab-myst disabled")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for the screenshots")
    args = parser.parse_args(argv)
    report = check_notebooks(args.notebooks, plain=args.plain, screenshots=args.screenshots)
    bad = 0
    for name, problems in report.items():
        print(f"{'ok  ' if not problems else 'FAIL'} {name}")
        for p in problems:
            print(f"       {p}")
        bad += bool(problems)
    print(f"{len(report) - bad} notebooks ok, {bad} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
