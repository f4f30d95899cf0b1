"""What changed between two published snapshots of a plan, in words (issue 15).

Publishing cannot be undone, so the convenor confirms it after seeing what this
version changes since the last one. Snapshots are the plain dicts that
``planning.snapshot.plan_snapshot`` builds; ``None`` for the old one means a first
publication.
"""

from __future__ import annotations


def _names(items: list[dict], key: str) -> set[str]:
    return {str(i.get(key, "")) for i in items or []}


def _count_change(label: str, old: int, new: int) -> str | None:
    if old == new:
        return None
    return f"{label}: {old:,} → {new:,}"


def snapshot_changes(old: dict | None, new: dict) -> list[str]:
    """One line per change a person would care about, most important first."""
    if old is None:
        return ["First publication: everything in the plan becomes public record."]
    out: list[str] = []
    for key, label in (("title", "Title"), ("target_statement", "Target"), ("agreed_scenario", "Agreed pathway")):
        a, b = (old.get(key) or "").strip(), (new.get(key) or "").strip()
        if a != b:
            out.append(f"{label}: “{a or '—'}” → “{b or '—'}”")
    old_s, new_s = _names(old.get("scenarios"), "name"), _names(new.get("scenarios"), "name")
    out += [f"Scenario added: {n}" for n in sorted(new_s - old_s)]
    out += [f"Scenario removed: {n}" for n in sorted(old_s - new_s)]
    old_m = {(m.get("year"), m.get("title")): m for m in old.get("milestones") or []}
    new_m = {(m.get("year"), m.get("title")): m for m in new.get("milestones") or []}
    out += [f"Milestone added: {y} {t}" for (y, t) in sorted(set(new_m) - set(old_m), key=str)]
    out += [f"Milestone removed: {y} {t}" for (y, t) in sorted(set(old_m) - set(new_m), key=str)]
    out += [
        f"Milestone done: {y} {t}"
        for (y, t) in sorted(set(new_m) & set(old_m), key=str)
        if new_m[(y, t)].get("done") and not old_m[(y, t)].get("done")
    ]
    change = _count_change("Buildings", int(old.get("buildings") or 0), int(new.get("buildings") or 0))
    if change:
        out.append(change)
    change = _count_change("Workshops", len(old.get("workshops") or []), len(new.get("workshops") or []))
    if change:
        out.append(change)
    old_ideas = len(old.get("ideas") or []) + sum(len(w.get("ideas") or []) for w in old.get("workshops") or [])
    new_ideas = len(new.get("ideas") or []) + sum(len(w.get("ideas") or []) for w in new.get("workshops") or [])
    change = _count_change("Ideas", old_ideas, new_ideas)
    if change:
        out.append(change)
    if (old.get("assumptions") or []) != (new.get("assumptions") or []):
        out.append("Modelling assumptions changed")
    if not out:
        out.append("Nothing has changed since the last version: publishing would make an identical copy.")
    return out
