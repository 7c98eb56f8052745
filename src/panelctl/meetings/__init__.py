"""Meetings: schedule, agenda and papers, running the meeting, minutes and decisions."""
