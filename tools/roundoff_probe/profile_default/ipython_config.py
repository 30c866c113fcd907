# IPython profile of the round-off pass (IPYTHONDIR=tools/roundoff_probe): no history database in the repository.
c = get_config()  # noqa: F821
c.HistoryManager.enabled = False
