"""Walk every community's hash chain: exit 1 if anything was altered or does not balance."""

from django.core.management.base import BaseCommand, CommandError

from community.models import Community
from community.selectors import ledger_verify


class Command(BaseCommand):
    help = "Prove the ledger: every hash recomputed, every link and balance checked."

    def add_arguments(self, parser):
        parser.add_argument("--community", help="Only this community (slug).")

    def handle(self, *args, **options):
        communities = Community.objects.order_by("slug")
        if options["community"]:
            communities = communities.filter(slug=options["community"])
            if not communities.exists():
                raise CommandError(f"No community with slug '{options['community']}'.")
        failed = False
        for community in communities:
            result = ledger_verify(community)
            if result.ok:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{community.slug}: OK — {result.entries} entries, {result.lines} lines, total £{result.total}"
                    )
                )
            else:
                failed = True
                self.stdout.write(self.style.ERROR(f"{community.slug}: {len(result.problems)} problem(s)"))
                for p in result.problems[:100]:
                    self.stdout.write(f"  entry #{p.seq}: {p.problem}")
                if result.total != 0:
                    self.stdout.write(f"  debits and credits differ by £{result.total}")
        if failed:
            raise CommandError("The ledger did not verify.")
