from django.contrib import admin

from community.admin import ReadOnlyAdmin
from lem.models import ClearingRun, Market, Order, Participant, RuleVersion, SettlementRun, Trade


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = ["name", "community", "gate_closure_minutes", "price_floor", "price_cap"]


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    list_display = ["market", "number", "status", "effective_from", "mechanism", "import_price", "export_price"]
    list_filter = ["status", "mechanism"]


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["pseudonym", "market", "site", "fuel_poor", "credit_limit", "agent_enabled"]
    search_fields = ["pseudonym"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):  # settles money: written only by services (hash chain)
    list_display = ["period_start", "participant", "side", "quantity_wh", "price", "status", "source", "filled_wh"]
    list_filter = ["status", "side", "source"]
    date_hierarchy = "period_start"


@admin.register(ClearingRun)
class ClearingRunAdmin(ReadOnlyAdmin):  # settles money: written only by services (hash chain)
    list_display = ["period_start", "market", "status", "clearing_price", "volume_wh", "orders_count", "solver"]
    date_hierarchy = "period_start"


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):  # settles money: written only by services (hash chain)
    list_display = ["period_start", "buyer", "seller", "quantity_wh", "buyer_price", "seller_price", "energy_source"]
    date_hierarchy = "period_start"


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnlyAdmin):  # settles money: written only by services (hash chain)
    list_display = ["period_start", "market", "status", "revision", "settled_at"]
    list_filter = ["status"]
    date_hierarchy = "period_start"
