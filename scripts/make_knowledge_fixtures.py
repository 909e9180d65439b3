"""Writes the small PDF and DOCX files the knowledge tests index
(runtime/knowledge/tests/files/). Run once, commit the files; the tests never generate them:
`.venv/bin/python scripts/make_knowledge_fixtures.py`. Needs fpdf2 (requirements-dev.txt)
and python-docx."""
from datetime import datetime, timezone
from pathlib import Path

import docx
from fpdf import FPDF

OUT = Path(__file__).resolve().parent.parent / "runtime" / "knowledge" / "tests" / "files"

PAGES = [
    ("Acme Kettles: customer handbook",
     "Welcome to Acme Kettles. This handbook explains how to use your kettle safely, how to "
     "clean it, and what to do when something goes wrong. Keep it with your receipt."),
    ("Returns and refunds",
     "You may return any kettle within 45 days of delivery for a full refund. The refund is paid "
     "to the card used for the purchase within 5 working days of the kettle reaching our "
     "warehouse. Return shipping is free with the prepaid label from your account page."),
    ("Descaling",
     "Descale the kettle every four weeks in hard-water areas: fill it with equal parts white "
     "vinegar and water, boil, leave it for one hour, then rinse three times with clean water."),
]

DOCX_PARAGRAPHS = [
    "Acme Kettles warranty terms",
    "Every Acme kettle carries a warranty of 3 years from the date of purchase. The warranty "
    "covers the heating element, the switch and the base, but not limescale damage or a "
    "dropped kettle.",
    "To claim, write to warranty@acme.example with your order number and a photo of the fault.",
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 12, 1, tzinfo=timezone.utc))  # the same bytes on every run
    for title, body in PAGES:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 7, body, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(OUT / "handbook.pdf"))
    document = docx.Document()
    document.add_heading(DOCX_PARAGRAPHS[0], level=1)
    for paragraph in DOCX_PARAGRAPHS[1:]:
        document.add_paragraph(paragraph)
    document.save(str(OUT / "warranty.docx"))


if __name__ == "__main__":
    main()
