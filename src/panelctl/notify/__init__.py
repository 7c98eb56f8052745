"""Mail: reminders sent over SMTP, planned from the index and recorded in the store."""
