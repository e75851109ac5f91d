"""Phone screenshots made from known texts: an SMS or chat bubble, with noise and scaling."""

from __future__ import annotations

import io
import random
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Debian's fonts-noto-cjk (installed by .ci/run).
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
HEADER = "10:24  106900000000"


def screenshot(text: str, seed: int = 0, *, scale: float = 1.0, width: int = 1080) -> bytes:
    """Return `text` drawn as a phone screenshot (PNG or JPEG by seed), noisy and blurred."""
    rnd = random.Random(seed)
    size = rnd.choice((36, 40, 44, 48))
    font = ImageFont.truetype(str(FONT), size)
    lines = textwrap.wrap(text, (width - 200) // size) or [""]
    step = int(size * 1.5)
    height = max(800, 500 + len(lines) * step)
    background = rnd.choice(((237, 237, 237), (245, 245, 245)))
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 120), fill=(220, 220, 220))
    draw.text((40, 40), HEADER, font=ImageFont.truetype(str(FONT), 32), fill=(60, 60, 60))
    draw.rounded_rectangle((60, 180, width - 60, 220 + len(lines) * step), 20, fill="white")
    for row, line in enumerate(lines):
        draw.text((90, 200 + row * step), line, font=font, fill=(20, 20, 20))
    pixels = image.load()
    assert pixels is not None
    for _ in range(width * height // 400):
        grey = rnd.randrange(100, 255)
        pixels[rnd.randrange(width), rnd.randrange(height)] = (grey, grey, grey)
    if scale != 1.0:
        image = image.resize((int(width * scale), int(height * scale)), Image.Resampling.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    out = io.BytesIO()
    if seed % 2:
        image.save(out, "JPEG", quality=80)
    else:
        image.save(out, "PNG")
    return out.getvalue()
