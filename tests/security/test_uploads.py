"""§5: uploads are capped with a clear message before parsing; a bank statement is
not posted back whole between preview and confirm; long error reports are summarised."""

from __future__ import annotations

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile

from community import uploads
from community.errors import DomainError


class _Form(forms.Form):
    file = uploads.CappedFileField(max_bytes=1024)


def test_an_oversized_upload_is_refused_by_size_with_the_cap_in_the_message():
    form = _Form(files={"file": SimpleUploadedFile("big.csv", b"x" * 5000)})
    assert not form.is_valid()
    message = form.errors["file"][0]
    assert "big.csv is 5 KB" in message and "at most 1 KB" in message


def test_a_file_within_the_cap_passes():
    assert _Form(files={"file": SimpleUploadedFile("ok.csv", b"a,b\n1,2\n")}).is_valid()


def test_a_stash_round_trips_and_refuses_forged_tokens(tmp_path, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    token = uploads.stash_text("Date,Amount\n2026-01-01,5\n", kind="bank-statement")
    assert uploads.stash_read(token, kind="bank-statement").startswith("Date,Amount")
    for forged in ["../../etc/passwd", "", "x" * 10]:
        with pytest.raises(DomainError, match="expired"):
            uploads.stash_read(forged, kind="bank-statement")
    uploads.stash_drop(token, kind="bank-statement")
    with pytest.raises(DomainError):
        uploads.stash_read(token, kind="bank-statement")


def test_an_error_report_shows_the_first_twenty_and_a_count():
    summary = uploads.summarise([f"line {i}" for i in range(1, 1001)])
    assert len(summary.shown) == 20 and summary.hidden == 980 and summary.total == 1000


def test_a_bank_statement_over_its_cap_is_refused_before_parsing(world, client_as):
    from django.urls import reverse

    from assets.coop.forms import STATEMENT_MAX_BYTES
    from tests.coop.routes import _coop

    c = _coop(world)
    url = reverse(
        "coop:statement_import",
        kwargs={"slug": world.community.slug, "society_id": c["society"].pk, "offer_id": c["sol"].pk},
    )
    big = SimpleUploadedFile(
        "statement.csv", b"Date,Reference,Amount\n" + b"2026-01-01,x,1\n" * (STATEMENT_MAX_BYTES // 14 + 10)
    )
    response = client_as("treasurer").post(url, {"statement": big})
    assert response.status_code == 400
    assert "this import takes at most 20.0 MB" in response.content.decode()


def test_a_readings_import_with_many_bad_rows_shows_the_first_fifty_and_a_count(world, client_as):
    from django.urls import reverse

    rows = "".join(f"nope-{i},2026-01-01T00:00:00Z,1,0\n" for i in range(300))
    upload = SimpleUploadedFile("r.csv", ("meter_id,period_start,import_wh,export_wh\n" + rows).encode())
    response = client_as("asset_operator").post(
        reverse("assets:readings_import", kwargs={"slug": world.community.slug}), {"file": upload, "dry_run": "on"}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "300 bad rows" in body
    assert "…and 250 more rows with problems" in body
    assert "nope-299" not in body
