"""Cases: nominations, assessments, imports of risk matrices, persons, locations and links."""
