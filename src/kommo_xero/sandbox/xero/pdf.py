"""A real PDF of an invoice (fpdf2): number, contact, lines, totals."""

from __future__ import annotations

from fpdf import FPDF

from .models import Invoice, Org


def _latin(text: str) -> str:
    # The core fonts are Latin-1; replace what they cannot draw instead of failing.
    return text.encode("latin-1", "replace").decode("latin-1")


def invoice_pdf(org: Org, invoice: Invoice) -> bytes:
    contact = org.contacts.get(invoice.contact_id)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_creator(org.tenant.name)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(
        0,
        10,
        _latin("TAX INVOICE" if invoice.type == "ACCREC" else "BILL"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 11)
    header = [
        ("From", org.tenant.name),
        ("To", contact.name if contact else ""),
        ("Invoice Number", invoice.number),
        ("Reference", invoice.reference),
        ("Invoice Date", invoice.day.isoformat()),
        ("Due Date", invoice.due_day.isoformat() if invoice.due_day else ""),
        ("Status", invoice.status),
    ]
    for label, value in header:
        pdf.cell(45, 7, _latin(label))
        pdf.cell(0, 7, _latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    widths = (80, 25, 30, 20, 35)
    for width, title in zip(
        widths, ("Description", "Quantity", "Unit Price", "Tax", "Amount"), strict=True
    ):
        pdf.cell(width, 8, title, border="B")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for line in invoice.line_items:
        values = (
            line.description[:45],
            f"{line.quantity:.2f}",
            f"{line.unit_amount:.2f}",
            line.tax_type,
            f"{line.line_amount:.2f}",
        )
        for width, value in zip(widths, values, strict=True):
            pdf.cell(width, 7, _latin(value))
        pdf.ln()
    pdf.ln(3)
    totals = [
        ("Subtotal", invoice.sub_total),
        ("Total Tax", invoice.total_tax),
        (f"Total {invoice.currency_code}", invoice.total),
        ("Amount Paid", invoice.amount_paid),
        (f"Amount Due {invoice.currency_code}", invoice.amount_due),
    ]
    for label, amount in totals:
        pdf.cell(155, 7, _latin(label), align="R")
        pdf.cell(35, 7, f"{amount:,.2f}", align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
