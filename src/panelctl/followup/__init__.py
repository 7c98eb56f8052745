"""Follow-up: actions, reviews and assessment refreshes due, compliance."""
