"""SymPy derivations displayed by the chapters, one module per topic (import the module you need)."""
