"""Make a clean rendered page look scanned, deterministically by seed.

Levels:

* ``clean``: the page unchanged (a copy).
* ``mild``: grey or yellowish paper tint, light Gaussian noise, rotation up to ±1°, slight blur,
  JPEG round trip at quality 80.
* ``harsh``: faint or broken table lines, a red official seal (公章: ring, star, ring text,
  semi-transparent, multiplied over the ink) stamped over a value cell, a handwritten-looking
  signature scrawl beside 负责人, yellowed paper, uneven illumination, skew up to ±5°, blur,
  downscale from 200 to 150 DPI, heavier noise with specks, sometimes (by seed) a quarter-turn
  rotation by 90, 180 or 270 degrees, JPEG round trip at quality 60.

The quarter-turn rotation is recorded: ``degrade`` stores it in ``image.info["rotation"]`` (degrees
counter-clockwise applied to the page; 0 when none) and ``quarter_turn(level, seed)`` tells it
without degrading anything. Every random choice comes from ``numpy.random.default_rng(seed)``, so the
same input and seed give the same pixels.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Literal, overload

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from declscan.devkit.draw import find_cjk_font, load_font
from declscan.models.geometry import BBox

Level = Literal["clean", "mild", "harsh"]
SEAL_RED = (214, 32, 40)
SEAL_TEXT = "山西转型综合改革示范区晋中开发区管理委员会"
QUARTER_TURNS = (90, 180, 270)
QUARTER_TURN_PROBABILITY = 0.35


def quarter_turn(level: Level, seed: int) -> int:
    """The 90/180/270° rotation ``degrade`` applies at this level and seed (0 for none)."""
    rng = np.random.default_rng([seed, 90])  # its own stream, so it is known without degrading
    if level != "harsh" or rng.random() >= QUARTER_TURN_PROBABILITY:
        return 0
    return int(rng.choice(QUARTER_TURNS))


@overload
def degrade(image: Image.Image, *, level: Level, seed: int, value_boxes: Sequence[BBox] = (),
            signature_anchor: BBox | None = None) -> Image.Image: ...
@overload
def degrade(image: np.ndarray, *, level: Level, seed: int, value_boxes: Sequence[BBox] = (),
            signature_anchor: BBox | None = None) -> np.ndarray: ...
def degrade(image: Image.Image | np.ndarray, *, level: Level, seed: int, value_boxes: Sequence[BBox] = (),
            signature_anchor: BBox | None = None) -> Image.Image | np.ndarray:
    """A scanned-looking copy of ``image``, a page rendered at 200 DPI.

    A PIL image comes back as a PIL RGB image with ``info["rotation"]``; a numpy array is taken and
    returned as OpenCV BGR. ``value_boxes`` are cells the harsh seal may cover (default: the lower
    right of the page); ``signature_anchor`` is the printed 负责人 text the harsh signature is
    scrawled beside.
    """
    if isinstance(image, np.ndarray):
        rgb = Image.fromarray(np.ascontiguousarray(image[:, :, ::-1]) if image.ndim == 3 else image)
        out = degrade(rgb, level=level, seed=seed, value_boxes=value_boxes, signature_anchor=signature_anchor)
        return np.ascontiguousarray(np.asarray(out)[:, :, ::-1])
    rng = np.random.default_rng(seed)
    page = image.convert("RGB")
    if level == "clean":
        out = page.copy()
    elif level == "mild":
        out = _mild(page, rng)
    elif level == "harsh":
        out = _harsh(page, rng, value_boxes, signature_anchor, quarter_turn(level, seed))
    else:
        raise ValueError(f"unknown degradation level {level!r}")
    out.info["rotation"] = quarter_turn(level, seed)
    out.info["dpi"] = (150, 150) if level == "harsh" else image.info.get("dpi", (200, 200))
    return out


def _mild(page: Image.Image, rng: np.random.Generator) -> Image.Image:
    paper = _paper_colour(rng, yellow=rng.random() < 0.5)
    page = _tint(page, paper)
    page = page.rotate(rng.uniform(-1, 1), resample=Image.BICUBIC, fillcolor=paper)
    page = page.filter(ImageFilter.GaussianBlur(0.5))
    page = _noise(page, rng, sigma=4.0, specks=0)
    return _jpeg_round_trip(page, quality=80)


def _harsh(page: Image.Image, rng: np.random.Generator, value_boxes: Sequence[BBox],
           signature_anchor: BBox | None, rotation: int) -> Image.Image:
    page = _damage_grid_lines(page, rng)
    paper = _paper_colour(rng, yellow=True)
    page = _tint(page, paper)
    page = _stamp_seal(page, rng, value_boxes)
    page = _scrawl_signature(page, rng, signature_anchor)
    page = _uneven_light(page, rng)
    page = page.rotate(rng.uniform(-5, 5), resample=Image.BICUBIC, fillcolor=paper)
    page = page.filter(ImageFilter.GaussianBlur(0.9))
    page = page.resize((round(page.width * 0.75), round(page.height * 0.75)), Image.LANCZOS)
    page = _noise(page, rng, sigma=10.0, specks=400)
    if rotation:
        page = page.rotate(rotation, expand=True)
    return _jpeg_round_trip(page, quality=60)


def _paper_colour(rng: np.random.Generator, *, yellow: bool) -> tuple[int, int, int]:
    grey = int(rng.integers(228, 246))
    return (grey + 6, grey + 2, grey - 14) if yellow else (grey, grey, grey)


def _tint(page: Image.Image, paper: tuple[int, int, int]) -> Image.Image:
    """Multiply by the paper colour: white becomes paper, black ink stays black."""
    pixels = np.asarray(page, dtype=np.float32) * (np.array(paper, dtype=np.float32) / 255)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def _noise(page: Image.Image, rng: np.random.Generator, *, sigma: float, specks: int) -> Image.Image:
    pixels = np.asarray(page, dtype=np.float32)
    pixels = pixels + rng.normal(0, sigma, pixels.shape[:2])[..., None]
    ys = rng.integers(0, pixels.shape[0], specks)
    xs = rng.integers(0, pixels.shape[1], specks)
    pixels[ys, xs] = rng.integers(0, 90, (specks, 1))
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def _jpeg_round_trip(page: Image.Image, *, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    page.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _damage_grid_lines(page: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Fades some ruled-line segments and breaks others (gaps), as in worn or light copies."""
    pixels = np.asarray(page).copy()
    ink = (pixels.min(axis=2) < 128).astype(np.uint8)
    length = page.width // 12
    lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    lines |= cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    damage = np.zeros(ink.shape, dtype=np.uint8)
    for _ in range(int(rng.integers(25, 45))):
        x, y = int(rng.integers(0, page.width)), int(rng.integers(0, page.height))
        w, h = (int(rng.integers(6, 30)), 12) if rng.random() < 0.5 else (12, int(rng.integers(6, 30)))
        damage[y:y + h, x:x + w] = 255  # a break: the line vanishes
    for _ in range(int(rng.integers(6, 12))):
        x, y = int(rng.integers(0, page.width)), int(rng.integers(0, page.height))
        damage[y:y + 20, x:x + int(rng.integers(100, 400))] = 150  # a faint stretch
        damage[y:y + int(rng.integers(100, 400)), x:x + 20] = 150
    hit = (lines > 0) & (damage > 0)
    fade = np.where(damage == 255, 255, 175).astype(np.uint8)
    pixels[hit] = np.maximum(pixels[hit], fade[hit][:, None])
    return Image.fromarray(pixels)


def _uneven_light(page: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A smooth shading: one corner up to ~25% darker, as under a lamp or a curled page."""
    h, w = page.height, page.width
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    distance = np.hypot(xx - cx, yy - cy) / math.hypot(w, h)
    light = 1.0 - rng.uniform(0.12, 0.25) * distance
    pixels = np.asarray(page, dtype=np.float32) * light[..., None]
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def _seal_layer(radius: int, rng: np.random.Generator) -> Image.Image:
    """The seal as an 'L' ink-coverage mask: ring, five-pointed star, text along the upper arc."""
    size = 2 * radius + 4
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    c = size / 2
    draw.ellipse((c - radius, c - radius, c + radius, c + radius), outline=255, width=max(3, radius // 18))
    star = [(c + (radius * (0.3 if k % 2 == 0 else 0.12)) * math.sin(k * math.pi / 5),
             c - (radius * (0.3 if k % 2 == 0 else 0.12)) * math.cos(k * math.pi / 5)) for k in range(10)]
    draw.polygon(star, fill=255)
    font = load_font(find_cjk_font(bold=True), radius * 0.2)
    span = math.radians(250)
    for i, char in enumerate(SEAL_TEXT):
        angle = -span / 2 + span * (i + 0.5) / len(SEAL_TEXT)
        glyph = Image.new("L", (int(radius * 0.3),) * 2, 0)
        middle = (glyph.width / 2, glyph.height / 2)
        ImageDraw.Draw(glyph).text(middle, char, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle), resample=Image.BICUBIC)
        gx = c + radius * 0.72 * math.sin(angle) - glyph.width / 2
        gy = c - radius * 0.72 * math.cos(angle) - glyph.height / 2
        mask.paste(255, (round(gx), round(gy)), glyph)
    coverage = np.asarray(mask, dtype=np.float32) * rng.uniform(0.55, 1.0, (size, size))
    return Image.fromarray(coverage.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))


def _stamp_seal(page: Image.Image, rng: np.random.Generator, value_boxes: Sequence[BBox]) -> Image.Image:
    radius = round(page.width * 0.085)
    if value_boxes:
        box = value_boxes[int(rng.integers(0, len(value_boxes)))]
        cx, cy = box.center
    else:
        cx, cy = page.width * rng.uniform(0.6, 0.8), page.height * rng.uniform(0.7, 0.85)
    seal = _seal_layer(radius, rng).rotate(rng.uniform(-30, 30), resample=Image.BICUBIC)
    x0 = round(cx + rng.uniform(-40, 40) - seal.width / 2)
    y0 = round(cy + rng.uniform(-20, 20) - seal.height / 2)
    canvas = Image.new("L", page.size, 0)
    canvas.paste(seal, (x0, y0))
    alpha = np.asarray(canvas, dtype=np.float32) / 255 * rng.uniform(0.7, 0.9)
    # Multiply blend: red ink darkens paper but cannot lighten the black text under it.
    ink = np.array(SEAL_RED, dtype=np.float32) / 255
    factor = 1 - alpha[..., None] * (1 - ink)
    return Image.fromarray((np.asarray(page, dtype=np.float32) * factor).clip(0, 255).astype(np.uint8))


def _scrawl_signature(page: Image.Image, rng: np.random.Generator, anchor: BBox | None) -> Image.Image:
    """A quick pen stroke of loops, right of the 负责人 text (or bottom left without an anchor)."""
    scale = page.width / 1654
    if anchor is None:
        x, y = page.width * 0.12, page.height * 0.9
    else:
        x, y = anchor.x1 + 30 * scale, anchor.center[1]
    base, points, heading = y, [], rng.uniform(-0.5, 0.5)
    for _ in range(32):
        heading += rng.normal(0, 1.1)
        x += 4 * scale * (1.1 + math.cos(heading))
        # keep the scrawl within about a line's height of the signature line
        y = base + float(np.clip(y - base + 9 * scale * math.sin(heading), -28 * scale, 28 * scale))
        points.append((x, y))
    out = page.copy()
    ImageDraw.Draw(out).line(points, fill=(25, 30, 80), width=max(2, round(3 * scale)), joint="curve")
    return out
