"""A member's interest statement as PDF (reportlab), like the market's statements."""

from __future__ import annotations

from io import BytesIO


def member_statement_pdf(*, society, dist, member, line, average_holding, holding_now) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buf = BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=f"{society.name} statement {dist.period_start:%Y}")
    st = getSampleStyleSheet()
    day_count = "actual/actual" if dist.day_count == "actact" else "actual/365 fixed"
    rows = [
        ["", "£"],
        [f"Interest at {dist.interest_rate * 100:.2f}% a year ({day_count})", f"{line.interest:,.2f}"],
    ]
    if line.dividend:
        basis = "patronage" if dist.dividend_basis == "patronage" else "shareholding"
        rows.append([f"Dividend (shared by {basis})", f"{line.dividend:,.2f}"])
    rows += [
        ["Total", f"{line.interest + line.dividend:,.2f}"],
        ["Paid to your bank account", f"{line.cash:,.2f}"],
        [f"Reinvested ({line.new_shares} new shares)", f"{line.reinvested:,.2f}"],
        ["Donated to the community fund", f"{line.donated:,.2f}"],
    ]
    t = Table(rows, colWidths=[330, 120])
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
            ]
        )
    )
    story = [
        Paragraph(f"{society.name}: statement of interest on shares", st["Title"]),
        Paragraph(
            f"Member #{member.number} {member.full_name} · year {dist.period_start:%d %b %Y} to "
            f"{dist.last_day:%d %b %Y} · declared {dist.declared_on:%d %b %Y}",
            st["Normal"],
        ),
        Spacer(1, 12),
        t,
        Spacer(1, 12),
        Paragraph(
            f"Average holding over the year £{average_holding:,.2f}; holding now £{holding_now:,.2f}.", st["Normal"]
        ),
    ]
    if line.note:
        story += [Spacer(1, 6), Paragraph(line.note, st["Normal"])]
    doc.build(story)
    return buf.getvalue()
