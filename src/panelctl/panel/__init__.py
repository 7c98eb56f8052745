"""Setting a panel up: readers and their access, agencies, members, the demo store."""
