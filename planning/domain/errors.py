"""The one error the planning domain raises: a message a convenor can act on."""


class PlanningError(ValueError):
    """Bad input or a scenario that cannot be computed; the message says why.

    Views turn it into an inline form error, the API into a 400.
    """
