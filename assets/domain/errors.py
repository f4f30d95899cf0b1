"""The error the shared models in ``assets/domain`` raise on impossible input."""


class ModelInputError(ValueError):
    """Bad input to a model (a roof outside the UK, a tilt of 120 degrees); the message says why.

    The planner's ``PlanningError`` is this class, so a planner catching its own
    error also catches the shared solar and climate models'.
    """
