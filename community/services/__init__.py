"""Every write path of the community app (re-exported for convenience)."""

from community.services.audit import audit_record
from community.services.communities import (
    community_create,
    invitation_accept,
    invitation_create,
    membership_grant,
    membership_revoke,
    network_node_create,
    network_node_update_capacity,
    site_create,
    site_set_occupants,
    site_update,
)
from community.services.constraints import constraint_statement_issue, constraint_statement_withdraw  # noqa: F401
from community.services.ledger import (
    EntrySpec,
    ledger_account,
    ledger_check_record,
    ledger_post,
    ledger_post_many,
    ledger_reverse,
)

__all__ = [
    "EntrySpec",
    "audit_record",
    "community_create",
    "invitation_accept",
    "invitation_create",
    "ledger_account",
    "ledger_check_record",
    "ledger_post",
    "ledger_post_many",
    "ledger_reverse",
    "membership_grant",
    "membership_revoke",
    "network_node_create",
    "network_node_update_capacity",
    "site_create",
    "site_set_occupants",
    "site_update",
]
