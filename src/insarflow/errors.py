"""Errors a user can fix, reported as one line and never as a traceback."""


class UserError(Exception):
    """A mistake in the user's input: the message names the thing, the bad value and what is allowed."""
