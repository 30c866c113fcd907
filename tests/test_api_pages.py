"""The API reference pages list each subpackage's public names once (book/_ext/api_pages.py)."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from api_pages import public_names, public_submodules

import dropout_theory.rng
import dropout_theory.two_layer


def test_a_package_lists_the_functions_and_classes_of_its_all():
    names = public_names("dropout_theory.two_layer")
    assert names == [
        n
        for n in dropout_theory.two_layer.__all__
        if callable(getattr(dropout_theory.two_layer, n)) and not n.startswith("_")
    ]
    assert len(names) == len(set(names)) > 10


def test_a_module_without_all_lists_what_it_defines_not_what_it_imports():
    names = public_names("dropout_theory.rng")
    defined = [
        n
        for n, obj in vars(dropout_theory.rng).items()
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == "dropout_theory.rng"
    ]
    assert names == [n for n in defined if not n.startswith("_")]
    assert "torch_generator" in names
    assert not {"Generator", "np", "torch"} & set(names)


def test_packages_without_exports_are_documented_by_their_public_submodules():
    modules = public_submodules("dropout_theory.plotting")
    assert "dropout_theory.plotting.style" in modules
    assert not [m for m in modules if m.rsplit(".", 1)[1].startswith("_")]
