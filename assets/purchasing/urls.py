from django.urls import path

from . import views

app_name = "purchasing"

C = "<int:campaign_id>/"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.campaign_create, name="campaign_create"),
    path(C, views.campaign_detail, name="campaign"),
    path(C + "packages/new/", views.package_create, name="package_create"),
    path(C + "register/", views.register, name="register"),
    path(C + "estimate/", views.estimate, name="estimate"),
    path(C + "mine/", views.mine, name="mine"),
    path(C + "offers/<int:offer_id>/accept/", views.offer_accept, name="offer_accept"),
    path(C + "offers/<int:offer_id>/decline/", views.offer_decline, name="offer_decline"),
    path(C + "offers/<int:offer_id>/complaint/", views.complaint_create, name="complaint_create"),
    path(C + "packages/<int:package_id>/bid/", views.bid, name="bid"),
    path(C + "evaluation/", views.evaluation, name="evaluation"),
    path(C + "evaluate/", views.evaluate, name="evaluate"),
    path(C + "offers/issue/", views.offers_issue, name="offers_issue"),
    path("installers/", views.installers, name="installers"),
    path("installers/apply/", views.installer_apply, name="installer_apply"),
    path("installers/<int:installer_id>/review/", views.installer_review, name="installer_review"),
    path("installers/<int:installer_id>/fail/", views.installer_fail, name="installer_fail"),
    path("jobs/", views.jobs, name="jobs"),
    path("jobs/<int:offer_id>/", views.job, name="job"),
    path("jobs/<int:offer_id>/survey/", views.job_survey, name="job_survey"),
    path("jobs/<int:offer_id>/milestone/", views.job_milestone, name="job_milestone"),
    path("jobs/<int:offer_id>/document/", views.job_document, name="job_document"),
    path("jobs/<int:offer_id>/commission/", views.job_commission, name="job_commission"),
    path("deposits/<int:deposit_id>/refund/", views.deposit_refund, name="deposit_refund"),
    path("complaints/", views.complaints, name="complaints"),
    path("complaints/<int:complaint_id>/", views.complaint_update, name="complaint_update"),
]
