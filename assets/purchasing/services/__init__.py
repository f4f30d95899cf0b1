"""Write paths of collective purchasing, by subject; every one keyword-only, in one
transaction, with an audit row, raising DomainError naming the field on bad input."""

from .auction import auction_evaluate, bid_submit, installer_apply, installer_fail, installer_review  # noqa: F401
from .campaigns import (  # noqa: F401
    campaign_create,
    package_add,
    registration_estimate,
    registration_submit,
)
from .installations import (  # noqa: F401
    complaint_raise,
    complaint_update,
    document_upload,
    installation_commission,
    milestone_record,
    yield_check_run,
    yield_checks_due,
)
from .offers import (  # noqa: F401
    deposit_refund,
    offer_accept,
    offer_decline,
    offers_expire,
    offers_issue,
    survey_record,
)
