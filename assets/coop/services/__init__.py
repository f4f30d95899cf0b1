"""Every write path of the co-op (a package: re-exported here)."""

from .distributions import distribution_commit, distribution_mark_paid
from .funds import account_entry_add, contribution_due, corporate_fund_create, fund_grant_award, fund_payment_record
from .governance import board_member_add, meeting_create, vote_cast
from .offers import (
    allotment_preview,
    application_submit,
    offer_close,
    offer_create,
    payment_record,
    statement_import,
    statement_match,
)
from .register import (
    annual_return,
    member_close,
    transfer_record,
    withdrawal_due_dates,
    withdrawal_queue_preview,
    withdrawal_request,
    withdrawals_pay,
)
from .revenue import revenue_post
from .society import holding_of, member_admit, member_update_details, society_create, society_update_rules

__all__ = [
    "account_entry_add",
    "allotment_preview",
    "annual_return",
    "application_submit",
    "board_member_add",
    "contribution_due",
    "corporate_fund_create",
    "distribution_commit",
    "distribution_mark_paid",
    "fund_grant_award",
    "fund_payment_record",
    "holding_of",
    "revenue_post",
    "meeting_create",
    "member_admit",
    "member_close",
    "member_update_details",
    "offer_close",
    "offer_create",
    "payment_record",
    "society_create",
    "society_update_rules",
    "statement_import",
    "statement_match",
    "transfer_record",
    "vote_cast",
    "withdrawal_due_dates",
    "withdrawal_queue_preview",
    "withdrawal_request",
    "withdrawals_pay",
]
