"""Browser check of the web twins (precomputed widget figures, ``dropout_theory.plotting.web_twin``) on a page.

:func:`check_web_twins` is called by ``tools/browser_check.py`` on every loaded page. For every twin it moves each
enabled control to another value as a reader would (sets the value, dispatches ``input`` and ``change``) and
compares a hash of the figure's data (``gd.data``) before and after: a control that does not change the figure is
a problem. A disabled control must come with the note "runs live in Jupyter" (as must a live-only stand-in of a
widget too slow to precompute, which has no figure). An ipywidget with controls shown
outside a twin is a problem too: on the website it has no kernel, so its controls would move without effect.
"""

from __future__ import annotations

TWIN_PROBE = """async () => {
  const problems = [];
  const digest = (gd) => {
    const s = JSON.stringify(gd.data || null);
    let h = 0;
    for (let i = 0; i < s.length; i++) { h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0; }
    return h + ':' + s.length;
  };
  const settle = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 30)));
  const move = async (c, value) => {
    c.value = value;
    c.dispatchEvent(new Event('input', {bubbles: true}));
    c.dispatchEvent(new Event('change', {bubbles: true}));
    await settle();
  };
  for (const twin of document.querySelectorAll('.web-twin')) {
    const name = twin.id || '(no id)';
    const gd = twin.querySelector('.plotly-graph-div');
    if (twin.classList.contains('web-twin-live-only')) {
      const enabled = twin.querySelector('input:not([disabled]), select:not([disabled])');
      if (enabled || !/runs? live in Jupyter/.test(twin.textContent)) {
        problems.push(`web twin ${name}: a live-only stand-in needs disabled controls and "runs live in Jupyter"`);
      }
      continue;
    }
    if (!gd || !gd.data) { problems.push(`web twin ${name}: figure not drawn`); continue; }
    const panel = twin.querySelector('.web-twin-controls');
    // the twin's script reveals its controls once plotly is there; on a loaded machine give it up to 5 s
    for (let i = 0; i < 50 && panel && getComputedStyle(panel).display === 'none'; i++) {
      await new Promise(r => setTimeout(r, 100));
    }
    if (!panel || getComputedStyle(panel).display === 'none') {
      problems.push(`web twin ${name}: controls not shown`);
      continue;
    }
    const controls = [...panel.querySelectorAll('input, select')];
    if (!controls.length) { problems.push(`web twin ${name}: no controls`); }
    for (const c of controls) {
      const label = (c.closest('label') ? c.closest('label').textContent : c.name || '?').trim().slice(0, 40);
      if (c.disabled) {
        if (!/runs? live in Jupyter/.test(twin.textContent)) {
          problems.push(`web twin ${name}: control "${label}" is disabled without the note "runs live in Jupyter"`);
        }
        continue;
      }
      const values = c.tagName === 'SELECT'
        ? [...c.options].map(o => o.value)
        : Array.from({length: Number(c.max) - Number(c.min) + 1}, (_, i) => String(Number(c.min) + i));
      const old = c.value;
      const other = values.find(v => v !== old);
      if (other === undefined) { problems.push(`web twin ${name}: control "${label}" has a single value`); continue; }
      const before = digest(gd);
      await move(c, other);
      if (digest(gd) === before) { problems.push(`web twin ${name}: moving "${label}" did not change the figure`); }
      await move(c, old);
    }
  }
  const frozen = [...document.querySelectorAll('.jupyter-widgets')].filter(e =>
    !e.closest('.web-twin') && !(e.parentElement && e.parentElement.closest('.jupyter-widgets')) &&
    e.querySelector('input, select, .widget-slider, .slider') && e.getClientRects().length);
  if (frozen.length) {
    problems.push(`${frozen.length} frozen ipywidget(s) with controls shown (no kernel on the website)`);
  }
  return problems;
}"""


def check_web_twins(page) -> list[str]:
    """Problems of the web twins and frozen widgets on a loaded Playwright ``page`` (an empty list when fine)."""
    return page.evaluate(TWIN_PROBE)
