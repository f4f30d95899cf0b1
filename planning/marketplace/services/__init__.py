"""Every write path of the marketplace (a package by subject; re-exported here)."""

from .calls import call_close, call_create
from .crowdfunding import (
    campaign_close,
    campaign_create,
    campaigns_close_due,
    match_projection,
    match_vote_cast,
    match_votes,
    pledge_create,
)
from .grants import (
    grant_accept,
    grant_complete,
    grant_paid,
    milestone_complete,
    payment_approve,
    payment_reject,
    payment_request_create,
    reminders_send,
    report_submit,
)
from .proposals import attachment_add, proposal_create, proposal_save_draft, proposal_submit, proposal_withdraw
from .review import (
    community_vote_cast,
    conflict_declare,
    part_of,
    proposal_decide,
    review_submit,
    reviewer_assign,
    rubric,
    score_preview,
)

__all__ = [
    "attachment_add",
    "call_close",
    "call_create",
    "campaign_close",
    "campaign_create",
    "campaigns_close_due",
    "community_vote_cast",
    "conflict_declare",
    "grant_accept",
    "grant_complete",
    "grant_paid",
    "match_projection",
    "match_vote_cast",
    "match_votes",
    "milestone_complete",
    "part_of",
    "payment_approve",
    "payment_reject",
    "payment_request_create",
    "pledge_create",
    "proposal_create",
    "proposal_decide",
    "proposal_save_draft",
    "proposal_submit",
    "proposal_withdraw",
    "reminders_send",
    "report_submit",
    "review_submit",
    "reviewer_assign",
    "rubric",
    "score_preview",
]
