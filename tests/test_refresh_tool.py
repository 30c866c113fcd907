"""tools/refresh_notebooks.py: cleaning an executed notebook gives the same bytes every time."""

from __future__ import annotations

import copy
import json
import random
import sys
import uuid
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from refresh_notebooks import WIDGET_STATE, WIDGET_VIEW, clean, merge_streams


def _widget_notebook(seed: int) -> nbformat.NotebookNode:
    """A notebook with an interact-like widget tree (box → slider, output; slider → style, layout) and one
    unreferenced model, all with fresh random ids listed in a random order."""
    rng = random.Random(seed)
    ids = {k: uuid.UUID(int=rng.getrandbits(128)).hex for k in ("box", "slider", "style", "out", "lay1", "lay2")}
    state = {
        ids["box"]: {"model_name": "VBoxModel", "state": {"children": [f"IPY_MODEL_{ids['slider']}",
                                                                       f"IPY_MODEL_{ids['out']}"]}},
        ids["slider"]: {"model_name": "FloatSliderModel", "state": {"style": f"IPY_MODEL_{ids['style']}",
                                                                    "layout": f"IPY_MODEL_{ids['lay1']}"}},
        ids["style"]: {"model_name": "SliderStyleModel", "state": {}},
        ids["out"]: {"model_name": "OutputModel", "state": {"layout": f"IPY_MODEL_{ids['lay1']}"}},
        ids["lay1"]: {"model_name": "LayoutModel", "state": {}},
        ids["lay2"]: {"model_name": "LayoutModel", "state": {"width": "50%"}},
    }
    items = list(state.items())
    rng.shuffle(items)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("w")
    cell.outputs = [nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": ids["box"]}})]
    nb.cells = [cell]
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": dict(items), "version_major": 2, "version_minor": 0}}
    return nb


def _dump(nb) -> str:
    return json.dumps(nb, sort_keys=True)


def test_widget_ids_do_not_depend_on_the_random_ids_or_their_order():
    a, b = (clean(_widget_notebook(seed), "chapter.ipynb") for seed in (1, 2))
    assert _dump(a) == _dump(b)
    state = a.metadata["widgets"][WIDGET_STATE]["state"]
    assert len(state) == 6  # no model lost
    assert sorted(v["model_name"] for v in state.values()) == sorted(
        ["VBoxModel", "FloatSliderModel", "SliderStyleModel", "OutputModel", "LayoutModel", "LayoutModel"]
    )
    again = clean(nbformat.reads(nbformat.writes(copy.deepcopy(a)), 4), "chapter.ipynb")  # stored = sorted keys
    assert _dump(again) == _dump(a)
    other = clean(_widget_notebook(1), "other.ipynb")
    assert not set(other.metadata["widgets"][WIDGET_STATE]["state"]) & set(state)


def test_consecutive_streams_are_merged():
    out = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in ("a\n", "b\n")]
    out.append(nbformat.v4.new_output("stream", name="stderr", text="c\n"))
    assert [(o.name, o.text) for o in merge_streams(out)] == [("stdout", "a\nb\n"), ("stderr", "c\n")]
