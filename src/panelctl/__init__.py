"""panelctl: encrypted, git-versioned records for multi-agency child exploitation panels."""

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)
