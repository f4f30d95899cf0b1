"""The API's one pagination class: ``limit`` and ``offset`` bounded and strict.

DRF's own class ignores a bad value silently, and passes a huge one to the
database (``?limit=9223372036854775808`` was a 500 on PostgreSQL). Here a
value that is not a whole number in range is a 400 naming the parameter.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

from community.errors import DomainError
from community.params import query_int

MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def _bounded(self, request, name: str, default: int, minimum: int, maximum: int) -> int:
        try:
            return query_int(request.query_params, name, default, minimum=minimum, maximum=maximum)
        except DomainError as exc:
            raise ValidationError({name: [exc.message]}) from None

    def get_limit(self, request):
        return self._bounded(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request):
        return self._bounded(request, self.offset_query_param, 0, 0, MAX_OFFSET)

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for p in params:
            if p["name"] == self.limit_query_param:
                p["schema"].update({"minimum": 1, "maximum": self.max_limit})
            elif p["name"] == self.offset_query_param:
                p["schema"].update({"minimum": 0, "maximum": MAX_OFFSET})
        return params
