"""Pure rules over plain data: calendars, paper deadlines, slots, reviews due, quorum."""
