"""Foundations every layer may use: errors, settings from the environment, UK dates, name folding, private files, YAML."""
