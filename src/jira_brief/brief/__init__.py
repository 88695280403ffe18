"""Briefs: for each key, the ticket read, the brief written (by the model, or offline) and cached, the
acceptance criteria judged against a change, and the progress of the run as events."""
