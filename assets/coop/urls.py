from django.urls import path

from . import views

app_name = "coop"

S = "s/<int:society_id>/"

urlpatterns = [
    path("", views.index, name="index"),
    path("societies/new/", views.society_create, name="society_create"),
    path(S, views.society_detail, name="society"),
    path(S + "rules/", views.society_rules, name="society_rules"),
    path(S + "board/add/", views.board_add, name="board_add"),
    path(S + "offers/new/", views.offer_create, name="offer_create"),
    path(S + "offers/<int:offer_id>/", views.offer_detail, name="offer"),
    path(S + "offers/<int:offer_id>/apply/", views.offer_apply, name="offer_apply"),
    path(
        S + "offers/<int:offer_id>/applications/<int:application_id>/pay/", views.payment_record, name="payment_record"
    ),
    path(S + "offers/<int:offer_id>/import/", views.statement_import, name="statement_import"),
    path(S + "offers/<int:offer_id>/close/", views.offer_close, name="offer_close"),
    path(S + "offers/<int:offer_id>/refunds.csv", views.refund_file, name="refund_file"),
    path(S + "register/", views.register, name="register"),
    path(S + "register.csv", views.register_csv, name="register_csv"),
    path(S + "annual-return/", views.annual_return, name="annual_return"),
    path(S + "members/<int:member_id>/", views.member_detail, name="member"),
    path(S + "members/<int:member_id>/transfer/", views.member_transfer, name="member_transfer"),
    path(S + "members/<int:member_id>/close/", views.member_close, name="member_close"),
    path(S + "members/<int:member_id>/withdraw/", views.member_withdraw, name="member_withdraw"),
    path(S + "withdrawals/", views.withdrawals, name="withdrawals"),
    path(S + "me/", views.my_shares, name="my_shares"),
    path(S + "me/withdraw/", views.my_withdrawal, name="my_withdrawal"),
    path(S + "assets/<int:asset_id>/accounts/", views.asset_accounts, name="accounts"),
    path(S + "distributions/new/", views.distribution_new, name="distribution_new"),
    path(S + "distributions/<int:distribution_id>/", views.distribution_detail, name="distribution"),
    path(
        S + "distributions/<int:distribution_id>/payments.csv",
        views.distribution_payments,
        name="distribution_payments",
    ),
    path(S + "distributions/<int:distribution_id>/paid/", views.distribution_paid, name="distribution_paid"),
    path(S + "distributions/<int:distribution_id>/statements/<int:member_id>/", views.statement, name="statement"),
    path(S + "meetings/", views.meetings, name="meetings"),
    path(S + "meetings/new/", views.meeting_create, name="meeting_create"),
    path(S + "meetings/<int:meeting_id>/", views.meeting_detail, name="meeting"),
    path("funds/new/", views.fund_create, name="fund_create"),
    path("funds/<int:fund_id>/", views.fund_detail, name="fund"),
]
