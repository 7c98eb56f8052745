"""Rendering: papers, calendar invitations, reports and the link map, from plain data."""
