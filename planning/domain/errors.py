"""The one error the planning domain raises: a message a convenor can act on.

Bad input or a scenario that cannot be computed; the message says why.  Views
turn it into an inline form error, the API into a 400.  It is the shared
models' ``ModelInputError`` (``assets/domain/errors.py``), so the solar and
climate models moved down to ``assets/domain`` raise the planner's error too.
"""

from assets.domain.errors import ModelInputError as PlanningError  # noqa: F401
