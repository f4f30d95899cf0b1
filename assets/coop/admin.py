from django.contrib import admin

from . import models


class ReadOnlyLedgerBacked(admin.ModelAdmin):
    """Rows that mirror ledger entries are changed through the services, never edited here."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(models.Society)
class SocietyAdmin(admin.ModelAdmin):
    list_display = ["name", "community", "kind", "share_price", "max_holding", "max_interest_rate"]
    list_filter = ["kind"]


@admin.register(models.Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["number", "full_name", "society", "status", "admitted_on", "distribution_choice"]
    list_filter = ["society", "status"]
    search_fields = ["full_name", "email", "postcode"]


@admin.register(models.ShareOffer)
class ShareOfferAdmin(admin.ModelAdmin):
    list_display = ["title", "society", "opens_on", "closes_on", "target_raise", "status"]


@admin.register(models.Application)
class ApplicationAdmin(ReadOnlyLedgerBacked):
    list_display = ["reference", "full_name", "amount", "paid", "status", "shares_allotted", "refund"]
    list_filter = ["status", "offer"]


@admin.register(
    models.Payment, models.ShareTransaction, models.DistributionLine, models.FundPayment, models.FundGrant, models.Vote
)
class LedgerRowAdmin(ReadOnlyLedgerBacked):
    pass


@admin.register(models.Distribution)
class DistributionAdmin(ReadOnlyLedgerBacked):
    list_display = ["society", "period_start", "interest_rate", "interest_total", "status"]


@admin.register(
    models.CoopAsset,
    models.FundingSource,
    models.AccountEntry,
    models.Meeting,
    models.Resolution,
    models.BoardMember,
    models.BenefitFund,
    models.WithdrawalRequest,
)
class PlainAdmin(admin.ModelAdmin):
    pass
