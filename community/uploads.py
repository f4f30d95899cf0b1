"""Uploads every import shares: a size cap checked before a byte is parsed, a
stash so a confirm step posts back a short token instead of the whole file, and
error reports summarised (the first few, and how many more).

- ``CappedFileField(max_bytes=...)``: a form field whose error says how big the
  file is and what the cap is (Django has the size before reading the file).
- ``stash_text``/``stash_read``: keep an uploaded file server-side (the default
  storage, under ``uploads/<kind>/``) between preview and confirm.
- ``summarise(errors, first=20)``: ``Summary(shown, hidden)`` for templates.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from community.errors import DomainError

MB = 1024 * 1024
FIRST_ERRORS = 20
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}\Z")


def megabytes(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB / 10 else f"{n / 1024:.0f} KB"


def check_size(upload: Any, max_bytes: int, label: str = "The file") -> None:
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise DomainError(
            f"{label} is {megabytes(size)}; this import takes at most {megabytes(max_bytes)}. "
            "Split it into smaller files (e.g. one per month).",
            code="too_large",
        )


class CappedFileField(forms.FileField):
    def __init__(self, *args: Any, max_bytes: int = 5 * MB, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        kwargs.setdefault("help_text", "")
        kwargs["help_text"] = (kwargs["help_text"] + f" At most {megabytes(max_bytes)}.").strip()
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        upload = super().clean(data, initial)
        if upload:
            try:
                check_size(upload, self.max_bytes, f"{getattr(upload, 'name', 'The file')}")
            except DomainError as exc:
                raise forms.ValidationError(exc.message, code="too_large") from None
        return upload


def stash_text(text: str, *, kind: str) -> str:
    """Keep ``text`` for a later confirm step; returns the token to post back."""
    token = secrets.token_urlsafe(24)
    default_storage.save(f"uploads/{kind}/{token}.txt", ContentFile(text.encode("utf-8")))
    return token


def stash_read(token: str, *, kind: str) -> str:
    if not token or not _TOKEN.match(token):
        raise DomainError("The uploaded file has expired; choose it again.", code="stash_missing")
    name = f"uploads/{kind}/{token}.txt"
    if not default_storage.exists(name):
        raise DomainError("The uploaded file has expired; choose it again.", code="stash_missing")
    with default_storage.open(name, "rb") as fh:
        return fh.read().decode("utf-8")


def stash_drop(token: str, *, kind: str) -> None:
    if token and _TOKEN.match(token):
        default_storage.delete(f"uploads/{kind}/{token}.txt")


@dataclass(frozen=True)
class Summary:
    shown: Sequence[Any]
    hidden: int
    total: int


def summarise(errors: Sequence[Any], first: int = FIRST_ERRORS) -> Summary:
    errors = list(errors)
    return Summary(shown=errors[:first], hidden=max(0, len(errors) - first), total=len(errors))
