from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.response import TemplateResponse

from community import gdpr
from community.errors import DomainError
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


class EraseForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        help_text="Why, e.g. “their written request of 30 November 2026”. Kept in the audit trail.",
    )


@admin.action(description="Erase personal data of the selected people (GDPR)…", permissions=["erase"])
def erase_people(modeladmin, request, queryset):
    """The admin's erase button: a page that names who will be erased and asks why; then
    ``gdpr.person_erase`` for each (their money history stays, pseudonymised)."""
    people = list(queryset.order_by("username"))
    form = EraseForm(request.POST if request.POST.get("confirm") else None)
    if form.is_bound and form.is_valid():
        done, refused = [], []
        for person in people:
            try:
                with transaction.atomic():
                    done.append(gdpr.person_erase(user=person, actor=request.user, reason=form.cleaned_data["reason"]))
            except (DomainError, PermissionDenied) as exc:
                refused.append(f"{person.username}: {exc}")
        if done:
            modeladmin.message_user(request, f"Erased {len(done)}: now {', '.join(done)}.", messages.SUCCESS)
        for line in refused:
            modeladmin.message_user(request, f"Not erased — {line}", messages.ERROR)
        return None
    return TemplateResponse(
        request,
        "admin/erase_people.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": "Erase personal data",
            "people": people,
            "form": form,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    actions = [erase_people]

    def has_erase_permission(self, request):
        return request.user.is_superuser
