"""The record model and the panels' data: record types, profiles, risk tools, entry rules. Pure: no store, git or terminal."""
