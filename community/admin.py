from django.contrib import admin

from community.models import (
    AuditEvent,
    Community,
    Invitation,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Membership,
    NetworkNode,
    Site,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "settlement_period_minutes", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "community", "role", "created_at"]
    list_filter = ["community", "role"]
    search_fields = ["user__username", "user__email", "user__last_name"]
    autocomplete_fields = ["user"]


@admin.register(NetworkNode)
class NetworkNodeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "parent", "import_capacity_kw", "export_capacity_kw", "community"]
    list_filter = ["community", "kind"]
    search_fields = ["name", "code"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "postcode", "meter_point_id", "network_node", "community"]
    list_filter = ["community", "kind", "network_node"]
    search_fields = ["name", "address", "postcode", "meter_point_id"]
    filter_horizontal = ["occupants"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "community", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["community", "role"]
    readonly_fields = ["token"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """The audit trail and the ledger are append-only: the admin may look, never touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "community", "actor", "action", "summary"]
    list_filter = ["community", "action"]
    search_fields = ["summary", "object_id"]


@admin.register(LedgerAccount)
class LedgerAccountAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "user", "community"]
    list_filter = ["community", "kind"]
    search_fields = ["code", "name"]


class JournalLineInline(admin.TabularInline):
    model = JournalLine
    extra = 0
    can_delete = False
    readonly_fields = ["account", "amount"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "community", "effective_at", "source", "memo", "hash"]
    list_filter = ["community", "source"]
    search_fields = ["memo", "reference", "idempotency_key"]
    inlines = [JournalLineInline]
