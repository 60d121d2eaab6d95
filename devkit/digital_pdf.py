"""A born-digital PDF of a ``FormLayout``: real text layer, vector ruled lines, embedded CJK font.

Geometry is ``declscan.devkit.draw.paginate``'s (measured with the embedded font), scaled from
200-DPI pixels to PDF points, so camelot's lattice mode finds the same grid the images show.
"""

from __future__ import annotations

import io

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from declscan.devkit.draw import BODY_PT, TITLE_PT, FontFile, PageLayout, find_cjk_font, paginate
from declscan.devkit.layout import FormLayout

# reportlab embeds TrueType outlines only; Noto CJK ships CFF outlines, WenQuanYi Zen Hei TrueType.
PDF_FONT_FAMILIES = ("WenQuanYi Zen Hei",)
PDF_FONT_NAME = "DeclscanCJK"
RENDER_DPI = 200
LINE_WIDTH_PT = 0.75


def _register_font() -> FontFile:
    font = find_cjk_font(families=PDF_FONT_FAMILIES)
    if PDF_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(PDF_FONT_NAME, font.path, subfontIndex=font.index))
    return font


def render_pdf(layout: FormLayout) -> bytes:
    """The form as an A4 PDF with a text layer (one page per ``paginate`` page)."""
    font = _register_font()
    pages = paginate(layout, dpi=RENDER_DPI, font=font, bold=font)
    buffer = io.BytesIO()
    scale = 72 / RENDER_DPI
    pdf = canvas.Canvas(buffer, pagesize=(pages[0].width * scale, pages[0].height * scale),
                        invariant=True)  # invariant: no timestamp/id, so the bytes are reproducible
    pdf.setTitle(layout.title or "项目支出绩效目标申报表")
    for page in pages:
        _draw_page(pdf, page, scale)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _draw_page(pdf: canvas.Canvas, page: PageLayout, scale: float) -> None:
    height = page.height * scale
    pdf.setLineWidth(LINE_WIDTH_PT)
    for cell in page.cells:
        box = cell.bbox
        pdf.rect(box.x0 * scale, height - box.y1 * scale, box.width * scale, box.height * scale,
                 stroke=1, fill=0)
    texts = [*page.free_text, *(line for cell in page.cells for line in cell.lines)]
    for text in texts:
        size = TITLE_PT if text.kind == "title" else BODY_PT
        # The slot's vertical centre holds the glyphs' middle; the baseline is ~0.35 em below it.
        baseline = height - ((text.bbox.y0 + text.bbox.y1) / 2) * scale - 0.35 * size
        pdf.setFont(PDF_FONT_NAME, size)
        pdf.drawString(text.bbox.x0 * scale, baseline, text.text)
