"""panelctl: encrypted, git-versioned records for multi-agency child exploitation panels."""

__version__ = "0.1.0"
