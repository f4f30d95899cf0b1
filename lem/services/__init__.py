"""Write paths of the local energy market.

Every function is keyword-only, runs in one transaction, validates first and
raises ``DomainError`` with a message a person understands (views turn it
into an inline error, the API into a 400) and writes nothing on bad input.
Periodic work (clearing, settlement, fees) is idempotent: a second call for
the same period returns the stored result and writes nothing.
"""

from __future__ import annotations

from community.errors import DomainError  # noqa: F401  (lem.batch uses services.DomainError)
from lem.services.agents import (  # noqa: F401
    _owed_by_participant,
    agent_place_orders,
    agents_run_due,
)
from lem.services.base import (  # noqa: F401
    PEAK_HOURS,
    SOURCE,
    TICK,
    _decimal,
    _is_operator,
    _price,
    _ticks,
    floor_period,
    fmt_price,
    gate_closure,
    import_price_at,
    is_household,
    period_length,
    rules_in_force,
)
from lem.services.clearing import (  # noqa: F401
    BOOK_FIELDS,
    _book,
    _book_hash,
    _network,
    clear_book,
    frozen_orders,
    market_clear,
    market_clear_due,
)
from lem.services.fees import (  # noqa: F401
    membership_fees_post,
    month_bounds,
    month_savings_pence,
)
from lem.services.markets import (  # noqa: F401
    market_create,
    market_update,
)
from lem.services.orders import (  # noqa: F401
    CO2_BY_SOURCE,
    RENEWABLE_MAX_CO2,
    _check_nominees,
    _check_period,
    _editable,
    member_account,
    order_cancel,
    order_place,
    order_place_many,
    order_update,
    participant_owes,
)
from lem.services.participants import (  # noqa: F401
    _pseudonym,
    participant_enrol,
    participant_set_credit,
    participant_update_agent,
)
from lem.services.payments import (  # noqa: F401
    payment_record,
)
from lem.services.replay import (  # noqa: F401
    Replay,
    explain_order,
    market_replay,
)
from lem.services.rules import (  # noqa: F401
    RULE_FIELDS,
    _clean_rules,
    rule_decide,
    rule_propose,
    rule_vote,
    vote_closes_at,
)
from lem.services.settlement import (  # noqa: F401
    DAY_KEY,
    PeriodInputs,
    _account,
    _accounts,
    _lines_for,
    _lines_from_transfers,
    _nets_of,
    _pence,
    _period_inputs,
    _post_settlement,
    _posted_nets,
    _readings,
    _rules_for,
    _settle_key,
    _state_hash,
    readings_digest,
    settlement_settle_due,
    settlement_settle_period,
)
