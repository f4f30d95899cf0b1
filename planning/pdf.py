"""The plan document as a PDF (reportlab + matplotlib charts), from a snapshot.

Rendering only reads the snapshot, so a version's PDF is a pure function of
what was frozen at publication.
"""

from __future__ import annotations

import io
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # noqa: E402
from reportlab.lib.units import cm  # noqa: E402
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # noqa: E402

BRAND = "#0f766e"
PALETTE = ["#0f766e", "#2563eb", "#d97706", "#7c3aed", "#db2777", "#059669"]
MONTHS = ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"]


def _esc(text) -> str:
    return (str(text or "")).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _png(fig) -> Image:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    buf.seek(0)
    w, h = fig.get_size_inches()
    width = 16 * cm
    return Image(buf, width=width, height=width * h / w)


def _table(rows, widths=None, header=True):
    t = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#e5e7eb")),
    ]
    if header:
        style += [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.HexColor("#374151")),
        ]
    t.setStyle(TableStyle(style))
    return t


def _gbp(v) -> str:
    return f"£{Decimal(str(v)):,.0f}"


def render_plan_pdf(snap: dict) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=1.8 * cm,
        bottomMargin=1.8 * cm,
        title=snap["title"],
        author=snap["community"],
        subject="Local Area Energy Plan",
        creator="Community Energy Platform",
    )
    ss = getSampleStyleSheet()
    h1 = ParagraphStyle("h1", parent=ss["Heading1"], textColor=colors.HexColor(BRAND))
    h2 = ParagraphStyle("h2", parent=ss["Heading2"], textColor=colors.HexColor(BRAND))
    body = ss["BodyText"]
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    story = [
        Paragraph(_esc(snap["title"]), h1),
        Paragraph(
            f"{_esc(snap['community'])} · Local Area Energy Plan · version {snap['version']} · "
            f"published {snap['published_at'][:10]}"
            + (f" by {_esc(snap['published_by'])}" if snap["published_by"] else ""),
            small,
        ),
        Spacer(1, 8),
    ]
    if snap.get("area_description"):
        story.append(Paragraph(_esc(snap["area_description"]), body))
    if snap.get("target_statement") or snap.get("agreed_scenario"):
        story.append(Paragraph("Our agreed target", h2))
        if snap.get("target_statement"):
            story.append(Paragraph(_esc(snap["target_statement"]), body))
        if snap.get("agreed_scenario"):
            story.append(Paragraph(f"Chosen pathway: <b>{_esc(snap['agreed_scenario'])}</b>", body))

    cs = snap.get("current_state")
    story.append(Paragraph("1. Where we are now", h2))
    if cs:
        story.append(
            Paragraph(
                f"{snap['buildings']} buildings ({cs['estimated']} with estimated consumption). Electricity "
                f"{(cs['elec_appliances_wh'] + cs['elec_heating_wh']) / 1e6:,.0f} MWh/yr, gas {cs['gas_wh'] / 1e6:,.0f} MWh/yr, "
                f"oil {cs['oil_wh'] / 1e6:,.0f} MWh/yr, local solar {cs['pv_generation_wh'] / 1e6:,.0f} MWh/yr. Carbon "
                f"{sum(cs['carbon_kg'].values()) / 1000:,.0f} tCO2e/yr.",
                body,
            )
        )
        fig, ax = plt.subplots(figsize=(8, 2.8))
        ax.bar(range(12), cs["monthly_demand_kwh"], color=PALETTE[1], label="electricity demand")
        ax.bar(range(12), cs["monthly_generation_kwh"], color=PALETTE[2], label="local generation", width=0.5)
        ax.set_xticks(range(12), MONTHS)
        ax.set_ylabel("kWh")
        ax.legend(frameon=False, fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        story.append(_png(fig))
    if snap.get("headroom"):
        rows = [["Network node", "Kind", "Capacity kW", "Peak kW", "Headroom kW"]]
        for r in snap["headroom"]:
            rows.append(
                [
                    r["name"],
                    r["kind"],
                    f"{r['capacity_kw']:,.0f}",
                    "" if r["peak_kw"] is None else f"{r['peak_kw']:,.0f}",
                    "" if r["headroom_kw"] is None else f"{r['headroom_kw']:,.0f}",
                ]
            )
        story += [Spacer(1, 6), _table(rows)]

    story.append(Paragraph("2. Options and scenarios", h2))
    scen = snap.get("scenarios") or []
    if scen:
        rows = [["Scenario", "Years", "Capital cost", "Net benefit/yr", "Payback", "Carbon saved", "Self-sufficiency"]]
        for s in scen:
            r = s["result"]
            rows.append(
                [
                    s["name"],
                    f"{s['start_year']}–{s['end_year']}",
                    _gbp(r["total_capex_gbp"]),
                    _gbp(r["annual_net_benefit_gbp"]),
                    f"{r['simple_payback_years']} yr" if r.get("simple_payback_years") else "none",
                    f"{r['carbon_saved_cumulative_kg'] / 1000:,.0f} t",
                    f"{100 * r['self_sufficiency_end']:.0f}%",
                ]
            )
        story.append(_table(rows))
        fig, axes = plt.subplots(1, 2, figsize=(9, 3))
        for i, s in enumerate(scen):
            years = [y["year"] for y in s["result"]["years"]]
            axes[0].plot(
                years,
                [y["carbon_saved_cumulative_kg"] / 1000 for y in s["result"]["years"]],
                color=PALETTE[i % 6],
                label=s["name"],
            )
            axes[1].plot(
                years,
                [float(y["net_benefit_gbp"]) for y in s["result"]["years"]],
                color=PALETTE[i % 6],
                label=s["name"],
            )
        axes[0].set_title("Carbon saved, cumulative (t)", fontsize=9)
        axes[1].set_title("Net benefit per year (£)", fontsize=9)
        for ax in axes:
            ax.spines[["top", "right"]].set_visible(False)
            ax.tick_params(labelsize=7)
        axes[0].legend(frameon=False, fontsize=7)
        story.append(_png(fig))
        for s in scen:
            over = [n for n in s["result"]["nodes"] if n["overloaded_years"]]
            if over:
                story.append(
                    Paragraph(
                        f"<b>{_esc(s['name'])}</b>: would overload "
                        + ", ".join(f"{_esc(n['name'])} from {n['first_overload_year']}" for n in over)
                        + " unless the network is reinforced or demand is managed.",
                        small,
                    )
                )
    else:
        story.append(Paragraph("No scenario has been computed yet.", body))

    story.append(Paragraph("3. What people said", h2))
    for w in snap.get("workshops") or []:
        story.append(
            Paragraph(
                f"<b>{_esc(w['title'])}</b> — {_esc(w['starts_at'])}, {_esc(w['location'])}: "
                f"{w['attended']} attended of {w['invited']} invited.",
                body,
            )
        )
        if w["notes"]:
            story.append(Paragraph(_esc(w["notes"]), small))
        for idea in w["ideas"]:
            story.append(
                Paragraph(
                    f"• {_esc(idea['text'])}" + (f" <i>({_esc(idea['option'])})</i>" if idea["option"] else ""), small
                )
            )
    prefs = snap.get("preferences") or []
    if prefs:
        rows = [["Option", "People", "Mean", "Middle half", "For", "Against", "View"]]
        for p in prefs:
            o = p["overall"]
            if not o:
                continue
            rows.append(
                [
                    p["label"],
                    o["n"],
                    f"{o['mean']:.1f}",
                    f"{o['q1']:.1f}–{o['q3']:.1f}",
                    f"{100 * o['support']:.0f}%",
                    f"{100 * o['opposition']:.0f}%",
                    o["consensus"],
                ]
            )
        story += [Spacer(1, 4), Paragraph("Preferences (1 = strongly against, 5 = strongly for)", small), _table(rows)]

    story.append(Paragraph("4. Roadmap", h2))
    ms = snap.get("milestones") or []
    if ms:
        rows = [["Year", "Milestone", "Delivered by", "Option"]]
        rows += [[m["year"], Paragraph(_esc(m["title"]), small), m["building_block"], m["option"]] for m in ms]
        story.append(_table(rows, widths=[1.5 * cm, 8 * cm, 4 * cm, 3.5 * cm]))
    else:
        story.append(Paragraph("No milestones yet.", body))

    story += [PageBreak(), Paragraph("Assumptions and sources", h2)]
    rows = [["Assumption", "Value", "Source"]]
    for a in snap.get("assumptions") or []:
        rows.append(
            [
                Paragraph(_esc(a["label"]), small),
                f"{a['value']:g} {a['unit']}" + (" *" if a.get("overridden") else ""),
                Paragraph(_esc(a["source"]), small),
            ]
        )
    story.append(_table(rows, widths=[4.5 * cm, 3 * cm, 9.5 * cm]))
    story.append(Paragraph("* changed for this plan from the default.", small))
    story.append(Paragraph("Methods", h2))
    for title, text in snap.get("methods") or []:
        story.append(Paragraph(f"<b>{_esc(title)}</b>: {_esc(text)}", small))
    doc.build(story)
    return buf.getvalue()
