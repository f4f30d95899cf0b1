from django.urls import path

from . import views

app_name = "marketplace"

urlpatterns = [
    path("", views.index, name="index"),
    path("calls/new/", views.call_create, name="call_create"),
    path("calls/<int:call_id>/", views.call_detail, name="call"),
    path("calls/<int:call_id>/apply/", views.proposal_start, name="apply"),
    path("calls/<int:call_id>/pipeline/", views.pipeline, name="pipeline"),
    path("proposals/<int:proposal_id>/", views.proposal_detail, name="proposal"),
    path("proposals/<int:proposal_id>/edit/", views.proposal_edit, name="proposal_edit"),
    path("proposals/<int:proposal_id>/submit/", views.proposal_submit, name="proposal_submit"),
    path("proposals/<int:proposal_id>/attach/", views.attachment_add, name="attach"),
    path("proposals/<int:proposal_id>/assign/", views.reviewer_assign, name="assign"),
    path("proposals/<int:proposal_id>/decide/", views.proposal_decide, name="decide"),
    path("proposals/<int:proposal_id>/vote/", views.community_vote, name="vote"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("reviews/", views.review_queue, name="queue"),
    path("reviews/<int:assignment_id>/", views.review, name="review"),
    path("reviews/<int:assignment_id>/preview/", views.review_preview, name="review_preview"),
    path("reviews/<int:assignment_id>/conflict/", views.conflict_declare, name="conflict"),
    path("funding/", views.funding, name="funding"),
    path("grants/<int:grant_id>/", views.grant_detail, name="grant"),
    path("grants/<int:grant_id>/accept/", views.grant_accept, name="grant_accept"),
    path("grants/<int:grant_id>/payments/", views.payment_request, name="payment_request"),
    path("grants/<int:grant_id>/payments/<int:request_id>/", views.payment_decide, name="payment_decide"),
    path("grants/<int:grant_id>/milestones/<int:milestone_id>/", views.milestone_complete, name="milestone_complete"),
    path("grants/<int:grant_id>/reports/<int:report_id>/", views.report_submit, name="report_submit"),
    path("grants/<int:grant_id>/complete/", views.grant_complete, name="grant_complete"),
    path("crowdfunding/new/", views.campaign_create, name="campaign_create"),
    path("crowdfunding/<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("crowdfunding/<int:campaign_id>/pledge/", views.pledge, name="pledge"),
    path("crowdfunding/<int:campaign_id>/vote/", views.match_vote, name="match_vote"),
    path("funded/", views.funded, name="funded"),
    path("funded/360giving.json", views.giving360_json, name="giving360_json"),
    path("funded/360giving.csv", views.giving360_csv, name="giving360_csv"),
]
