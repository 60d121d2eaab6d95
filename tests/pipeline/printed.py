"""Drawn print for the OCR tests: a blank A4 page and lines of solid squares for the ink checks, and
lines of real characters in a CJK font for the engine."""

from __future__ import annotations

import subprocess

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine

EM = 28.0  # px: a 10.5 pt character at 200 DPI is about 29


def page() -> np.ndarray:
    return np.full((2339, 1654, 3), 255, np.uint8)  # A4 at 200 DPI


def print_line(image: np.ndarray, x0: int, y0: int, chars: int) -> TextLine:
    """Solid squares one em apart as the characters of a line, and the line's box around them."""
    size = int(EM * 0.8)
    for k in range(chars):
        x = x0 + int(k * EM)
        cv2.rectangle(image, (x, y0), (x + size, y0 + size), (0, 0, 0), 2)
        cv2.line(image, (x, y0 + size // 2), (x + size, y0 + size // 2), (0, 0, 0), 2)
    box = BBox.of(x0 - 2, y0 - 3, x0 + chars * EM - 4, y0 + size + 3)
    return TextLine(page=1, text="字" * chars, bbox=box, confidence=0.99)


def comma(image: np.ndarray, x: int, y: int) -> None:
    cv2.ellipse(image, (x, y), (3, 5), 20, 0, 360, (0, 0, 0), -1)


def cjk_font() -> str:
    return subprocess.run(["fc-match", "-f", "%{file}", "WenQuanYi Zen Hei"],
                          capture_output=True, text=True, check=True).stdout


def rendered_line(text: str, size: int = 30) -> np.ndarray:
    font = ImageFont.truetype(cjk_font(), size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGB", (right - left + 60, bottom - top + 40), "white")
    ImageDraw.Draw(image).text((30 - left, 20 - top), text, font=font, fill="black")
    return np.asarray(image)[:, :, ::-1].copy()
