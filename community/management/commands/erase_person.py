"""Erase a person's personal data (GDPR art. 17): ``manage.py erase_person USERNAME --by ADMIN --reason "..."``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from community import gdpr
from community.errors import DomainError


class Command(BaseCommand):
    help = "Pseudonymise a person, revoke their access and devices; money history stays intact."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--by", required=True, help="the administrator (a superuser) who decides it")
        parser.add_argument("--reason", required=True, help="why, e.g. 'their request of 2026-11-30'")

    def handle(self, *args, username, by, reason, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
            actor = User.objects.get(username=by)
        except User.DoesNotExist as exc:
            raise CommandError(f"No such user: {exc}") from None
        try:
            pseudonym = gdpr.person_erase(user=user, actor=actor, reason=reason)
        except (DomainError, PermissionDenied) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Erased {username}: now {pseudonym}.")
