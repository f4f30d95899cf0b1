from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community.domain.money import allocate_largest_remainder
from community.errors import DomainError
from community.models import JournalEntry, JournalLine
from community.selectors import account_balance, ledger_verify
from community.services import EntrySpec, ledger_account, ledger_post, ledger_post_many, ledger_reverse


@pytest.fixture
def accounts(world):
    c = world.community
    return (
        ledger_account(community=c, code="cash", name="Bank", kind="asset"),
        ledger_account(community=c, code="member:1", name="Member 1", kind="asset", user=world.users["member"]),
        ledger_account(community=c, code="income", name="Fees", kind="income"),
    )


def test_a_balanced_entry_is_posted_and_chained(world, accounts):
    cash, member, income = accounts
    e1 = ledger_post(
        community=world.community,
        lines=[(member, Decimal("5.00")), (income, Decimal("-5.00"))],
        memo="Fee",
        source="test",
        idempotency_key="k1",
    )
    e2 = ledger_post(
        community=world.community,
        lines=[(cash, Decimal("5.00")), (member, Decimal("-5.00"))],
        memo="Payment",
        source="test",
        idempotency_key="k2",
    )
    assert (e1.seq, e2.seq) == (1, 2)
    assert e2.prev_hash == e1.hash
    assert account_balance(member) == Decimal("0.00")
    assert account_balance(cash) == Decimal("5.00")
    assert ledger_verify(world.community).ok


def test_posting_twice_with_the_same_key_changes_nothing(world, accounts):
    cash, member, _ = accounts
    lines = [(cash, Decimal("1.10")), (member, Decimal("-1.10"))]
    first = ledger_post(community=world.community, lines=lines, memo="x", source="t", idempotency_key="same")
    again = ledger_post(community=world.community, lines=lines, memo="x", source="t", idempotency_key="same")
    assert first.pk == again.pk
    assert JournalEntry.objects.count() == 1


def test_the_same_key_with_other_amounts_is_refused(world, accounts):
    cash, member, _ = accounts
    ledger_post(
        community=world.community,
        lines=[(cash, Decimal("1")), (member, Decimal("-1"))],
        memo="x",
        source="t",
        idempotency_key="k",
    )
    with pytest.raises(DomainError, match="reversing entry"):
        ledger_post(
            community=world.community,
            lines=[(cash, Decimal("2")), (member, Decimal("-2"))],
            memo="x",
            source="t",
            idempotency_key="k",
        )


@pytest.mark.parametrize(
    "amounts,message",
    [
        (("1.00", "-0.99"), "not balanced"),
        (("0.005", "-0.005"), "whole number of pennies"),
        (("1.00",), "at least two lines"),
    ],
)
def test_an_unbalanced_entry_is_refused_and_nothing_written(world, accounts, amounts, message):
    cash, member, _ = accounts
    lines = list(zip([cash, member], [Decimal(a) for a in amounts], strict=False))
    with pytest.raises(DomainError, match=message):
        ledger_post(community=world.community, lines=lines, memo="bad", source="t", idempotency_key="bad")
    assert not JournalEntry.objects.exists()
    assert not JournalLine.objects.exists()


def test_a_batch_is_all_or_nothing(world, accounts):
    cash, member, _ = accounts
    good = EntrySpec(lines=[(cash, Decimal("1")), (member, Decimal("-1"))], memo="ok", source="t", idempotency_key="a")
    bad = EntrySpec(lines=[(cash, Decimal("1")), (member, Decimal("-2"))], memo="bad", source="t", idempotency_key="b")
    with pytest.raises(DomainError):
        ledger_post_many(community=world.community, entries=[good, bad])
    assert not JournalEntry.objects.exists()


def test_an_account_of_another_community_is_refused(world, accounts):
    cash, _, _ = accounts
    foreign = ledger_account(community=world.other_community, code="cash", name="Bank", kind="asset")
    with pytest.raises(DomainError, match="another community"):
        ledger_post(
            community=world.community,
            lines=[(cash, Decimal("1")), (foreign, Decimal("-1"))],
            memo="x",
            source="t",
            idempotency_key="x",
        )


def test_a_correction_is_a_reversing_entry(world, accounts):
    cash, member, _ = accounts
    entry = ledger_post(
        community=world.community,
        lines=[(cash, Decimal("3")), (member, Decimal("-3"))],
        memo="oops",
        source="t",
        idempotency_key="o",
    )
    reversal = ledger_reverse(entry=entry, memo="Reverse oops", idempotency_key="o:rev")
    assert reversal.reverses == entry
    assert account_balance(cash) == 0
    assert ledger_verify(world.community).ok


def _post_some(world, accounts, n=5):
    cash, member, income = accounts
    for i in range(n):
        ledger_post(
            community=world.community,
            lines=[(member, Decimal("2.50")), (income, Decimal("-2.50"))],
            memo=f"fee {i}",
            source="t",
            idempotency_key=f"fee{i}",
        )


def test_verify_ledger_finds_an_edited_amount(world, accounts):
    _post_some(world, accounts)
    line = JournalLine.objects.filter(entry__seq=3).order_by("id").first()
    # an edit that keeps the entry balanced is still caught by the hash
    JournalLine.objects.filter(entry=line.entry).update(amount=0)
    result = ledger_verify(world.community)
    assert not result.ok
    assert [p.seq for p in result.problems] == [3]
    with pytest.raises(CommandError):
        call_command("verify_ledger", "--community", world.community.slug, stdout=open("/dev/null", "w"))


def test_verify_ledger_finds_an_edited_memo_and_a_deleted_entry(world, accounts):
    _post_some(world, accounts)
    JournalEntry.objects.filter(seq=2).update(memo="nothing to see")
    assert [p.seq for p in ledger_verify(world.community).problems] == [2]
    JournalEntry.objects.filter(seq=2).update(memo="fee 1")
    assert ledger_verify(world.community).ok
    with connection.cursor() as cur:
        entry_id = JournalEntry.objects.get(seq=4).pk
        cur.execute("DELETE FROM community_journalline WHERE entry_id = %s", [entry_id])
        cur.execute("DELETE FROM community_journalentry WHERE id = %s", [entry_id])
    problems = ledger_verify(world.community).problems
    assert any(p.seq == 5 and "sequence gap" in p.problem for p in problems)


def test_verify_ledger_command_passes_on_a_clean_ledger(world, accounts, capsys):
    _post_some(world, accounts)
    call_command("verify_ledger")
    assert "test-green: OK — 5 entries" in capsys.readouterr().out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    postings=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(1, 100000), st.booleans()), min_size=1, max_size=12
    )
)
def test_random_postings_and_reversals_always_balance_and_verify(world, postings):
    from community.services import community_create

    community = community_create(name=f"Prop {JournalEntry.objects.count()} {len(postings)} {id(postings)}")
    accs = [ledger_account(community=community, code=f"a{i}", name=f"A{i}", kind="asset") for i in range(3)]
    for i, (a, b, pennies, reverse) in enumerate(postings):
        if a == b:
            continue
        amount = Decimal(pennies) / 100
        entry = ledger_post(
            community=community,
            lines=[(accs[a], amount), (accs[b], -amount)],
            memo=f"p{i}",
            source="prop",
            idempotency_key=f"p{i}",
        )
        if reverse:
            ledger_reverse(entry=entry, memo=f"r{i}", idempotency_key=f"r{i}")
    result = ledger_verify(community)
    assert result.ok
    assert sum(account_balance(acc) for acc in accs) == 0


@given(
    total_pennies=st.integers(0, 10_000_000),
    weights=st.lists(st.decimals(0, 10000, places=3), min_size=1, max_size=40),
)
def test_largest_remainder_reconciles_exactly_and_stays_within_a_penny(total_pennies, weights):
    total = Decimal(total_pennies) / 100
    if sum(weights) == 0:
        if total:
            with pytest.raises(ValueError):
                allocate_largest_remainder(total, weights)
        return
    shares = allocate_largest_remainder(total, weights)
    assert sum(shares) == total
    assert all(s >= 0 for s in shares)
    for share, w in zip(shares, weights, strict=True):
        exact = total * w / sum(weights)
        assert abs(share - exact) < Decimal("0.01")
