"""House rules that hold across the whole library, checked mechanically.

* No module uses another package's private name: a name (or module) starting with ``_`` may be imported only from
  inside the package that contains it. Tests, benchmarks, tools and chapters are outside every package; a test may
  import only the private module it mirrors (``tests/test_checks.py`` ↔ ``dropout_theory/_checks.py``).
* Every public function with more than three parameters takes its non-data arguments by keyword.
* Chapters do not import the experiments shell (they read stored runs through the science functions).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import dropout_theory

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"

#: Arguments a function computes on (taken positionally). Everything else must be keyword-only once a function has
#: more than three parameters.
DATA_ARGUMENTS = {
    # tensors and arrays a computation acts on
    "a", "W", "X", "y", "A", "a0", "W0", "h", "dh", "e", "Ea", "Ew", "z", "zeta", "mask", "theta", "thetas",
    "direction", "samples", "values", "x", "P", "Q", "subset", "h_eigenvalues", "sigma_eigenvalues", "points",
    "widths", "depths", "lrs", "accuracy",
    # the model, its loss, linear operators, jobs
    "model", "loss_fn", "matvec", "statistic", "fn", "jobs", "f", "g",
    # sizes and shapes of the object a function creates or unpacks
    "m", "d", "K", "n", "width", "dim", "num", "shape", "num_samples", "k_max",
    # results and specifications a figure, table, widget or command displays
    "curves", "ens", "runs", "summary", "split", "results_path", "subparsers", "name", "steps", "cases", "q1", "c1",
    "low", "high", "command", "options", "scale",
    # Part III's exponents: the point (a, b) of the phase plane
    "b",
}  # fmt: skip
#: Part II's theory is evaluated on a parameter point or grid: (activation, lengths/correlations, σ_w², σ_b², ρ),
#: in the order of the formulas.
MEAN_FIELD_ARGUMENTS = {
    "activation", "q", "c", "q_a", "q_b", "q_ab", "q_a1", "q_b1", "q_ab1", "sigma_w2", "sigma_b2", "keep_prob",
    "keep_probs", "sigma_b2_grid", "q_layers", "q_ab_layers", "panels", "configs",
}  # fmt: skip
MEAN_FIELD_MODULES = ("dropout_theory.deep_meanfield", "dropout_theory.plotting.deep_meanfield",
                      "dropout_theory.symbolic.deep_linear")  # fmt: skip


def _python_sources():
    for folder in ("lib", "tests", "bench", "tools"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def _chapter_sources():
    for path in sorted((ROOT / "book").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        yield path, "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))


def _is_private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _owner(target: str) -> str:
    """The package that contains a private module or name (``a.b._c`` → ``a.b``; a private name of module
    ``a.b.m`` belongs to the package ``a.b``, of package ``a.b`` to ``a.b``)."""
    parts = target.split(".")
    first = next(i for i, p in enumerate(parts) if _is_private(p))
    container = parts[:first]
    if first == len(parts) - 1 and not (LIB.joinpath(*container) / "__init__.py").exists():
        container = container[:-1]  # a private name inside a module: owned by the module's package
    return ".".join(container)


def _importer_package(path: Path) -> str | None:
    """Dotted package of a library file, ``None`` for files outside the library."""
    try:
        rel = path.relative_to(LIB)
    except ValueError:
        return None
    return ".".join(rel.with_suffix("").parts[:-1])


def _mirrors(path: Path, module: str) -> bool:
    """A test file may import the private module it tests: tests/<sub>/test_<name>.py ↔ dropout_theory.<sub>._<name>."""
    try:
        rel = path.relative_to(ROOT / "tests")
    except ValueError:
        return False
    parts = module.split(".")
    return (
        rel.parts[:-1] == tuple(parts[1:-1])
        and rel.stem.startswith("test_")
        and rel.stem[len("test_") :] == parts[-1].lstrip("_")
    )


def _private_imports(tree: ast.AST):
    """(private dotted target, line) of every import that involves a private dropout_theory module or name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dropout_theory"):
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if any(_is_private(p) for p in target.split(".")):
                    yield target, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dropout_theory") and any(_is_private(p) for p in alias.name.split(".")):
                    yield alias.name, node.lineno


def test_no_private_name_crosses_a_package_border():
    problems = []
    for path in _python_sources():
        for target, line in _private_imports(ast.parse(path.read_text())):
            owner = _owner(target)
            importer = _importer_package(path)
            inside = importer is not None and (importer == owner or importer.startswith(owner + "."))
            module = (
                target if (LIB / Path(*target.split("."))).with_suffix(".py").exists() else target.rsplit(".", 1)[0]
            )
            if not inside and not _mirrors(path, module):
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {target} (private to {owner})")
    for path, code in _chapter_sources():
        for target, _ in _private_imports(ast.parse(code)):
            problems.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not problems, "\n".join(problems)


def test_the_done_when_grep_finds_nothing():
    """The issue's own check: ``grep -rn "import _\\|from .* import _" lib tests bench`` finds no private import
    (dunder names such as ``__version__`` are public and are the only matches left)."""
    pattern = re.compile(r"import _(?!_)|from .* import _(?!_)")
    hits = []
    for folder in ("lib", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".md", ".txt", ".cfg") and "__pycache__" not in path.parts:
                for i, line in enumerate(path.read_text().splitlines(), 1):
                    if pattern.search(line) and "pattern = re.compile" not in line and "grep -rn" not in line:
                        hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_chapters_do_not_import_the_experiments_shell():
    """Chapters that plot stored runs read them through the science function that made them (the job store is in the
    core), so no chapter needs the command-line shell."""
    bad = [str(p.relative_to(ROOT)) for p, code in _chapter_sources() if "dropout_theory.experiments" in code]
    assert not bad, f"chapters importing dropout_theory.experiments: {bad}"


def _public_functions():
    for info in pkgutil.walk_packages(dropout_theory.__path__, "dropout_theory."):
        if info.name.endswith("__main__") or any(p.startswith("_") for p in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == module.__name__:
                yield info.name, name, obj


def test_public_functions_take_non_data_arguments_by_keyword():
    problems = []
    for module, name, fn in _public_functions():
        params = list(inspect.signature(fn).parameters.values())
        if len(params) <= 3:
            continue
        allowed = DATA_ARGUMENTS | (MEAN_FIELD_ARGUMENTS if module.startswith(MEAN_FIELD_MODULES) else set())
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        extra = [p for p in positional if p not in allowed]
        if extra:
            problems.append(f"{module}.{name}: {extra} should be keyword-only")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("concept", ["learning_rate", "steps", "workers", "out", "seed", "n_networks", "n_nodes"])
def test_one_name_per_concept(concept):
    """lr, num_steps, max_workers, results_path, generator, num_networks, num_nodes: the other spellings are gone
    from every public signature (``seed`` survives only in JSON job functions, named ``*_job``; a slider's
    ``steps`` are its positions, not a step count)."""
    offenders = [
        f"{module}.{name}"
        for module, name, fn in _public_functions()
        if concept in inspect.signature(fn).parameters
        and not (concept == "seed" and (module.startswith("dropout_theory.experiments") or name.endswith("_job")))
        and f"{module}.{name}" != "dropout_theory.plotting.interactive.slider_figure"
    ]
    assert not offenders, offenders
