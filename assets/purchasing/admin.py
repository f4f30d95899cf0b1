from django.contrib import admin

from .models import Bid, Campaign, Complaint, Deposit, Installation, Installer, Offer, Package, Registration, YieldCheck


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "community", "status", "registration_closes", "bid_deadline"]
    list_filter = ["status", "community"]


@admin.register(Installer)
class InstallerAdmin(admin.ModelAdmin):
    list_display = ["company", "community", "status", "certification", "certificate_expires", "capacity_per_week"]
    list_filter = ["status"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["pk", "registration", "package", "installer", "size", "price_gbp", "status"]
    list_filter = ["status", "package__kind"]


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ["subject", "installer", "status", "opened_at", "resolved_at"]
    list_filter = ["status"]


for model in (Package, Bid, Registration, Deposit, Installation, YieldCheck):
    admin.site.register(model)
