"""Write paths of the VPP, by subject (re-exported here)."""

from vpp.services.dispatch import (  # noqa: F401
    Lease,
    dispatch_tick,
    event_correct,
    event_dispatch_period,
    event_plan,
    event_release,
    leases_publish,
)
from vpp.services.enrolment import (  # noqa: F401
    enrolment_create,
    enrolment_leave,
    enrolment_renew,
    event_opt_out,
)
from vpp.services.market import (  # noqa: F401
    bid_accept,
    bid_propose,
    bid_submit,
    event_cancel,
    requirement_create,
    sharing_rule_decide,
    sharing_rule_propose,
    sharing_rule_vote,
)
from vpp.services.settlement import event_settle, payouts_pay  # noqa: F401
