"""Errors a user can act on, reported as one line and never as a traceback.

Every failure that is not a bug in insarflow derives from ``UserError``: a mistake in the
user's input, a refused credential, an unreachable service, a HyP3 job that failed. The rule
adapter (``insarflow.steps.run_step``) prints its message as one line and exits 1.
"""


class UserError(Exception):
    """A failure the user can fix; the message names the thing, the bad value and what to do."""


class ServiceError(UserError):
    """A remote service could not be reached, refused the credentials or failed."""
