"""Printable device label: a QR code of the staff deep link with "[N]" and the device under it."""

from __future__ import annotations

import importlib.util
import io
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a picture is drawn: not at start (RSS, start-up time)
    from PIL import ImageFont


@cache
def _font_path() -> str | None:
    # matplotlib ships DejaVu Sans, which has Cyrillic; Pillow's default bitmap font does not.
    # Found through the package's location, without importing matplotlib (numpy, ~40 MB).
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
        if path.exists():
            return str(path)
    return None  # pragma: no cover


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    path = _font_path()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def qr_png(data: str, box_size: int = 10) -> bytes:
    import qrcode

    image = qrcode.make(data, box_size=box_size, border=2).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def label_png(link: str, number: int, device: str, width: int = 480) -> bytes:
    import qrcode
    from PIL import Image, ImageDraw

    qr = qrcode.QRCode(border=2, box_size=10, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(link)
    qr.make(fit=True)
    code = qr.make_image().convert("RGB").resize((width, width), Image.Resampling.NEAREST)
    big, small = _font(64), _font(30)
    device = device if len(device) <= 30 else device[:29] + "…"
    canvas = Image.new("RGB", (width, width + 130), "white")
    canvas.paste(code, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for text, font, y in ((f"[{number}]", big, width), (device, small, width + 80)):
        left, _top, right, _bottom = draw.textbbox((0, 0), text, font=font)
        draw.text(((width - (right - left)) / 2, y), text, fill="black", font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()
