"""Poster images (PNG, Pillow): the leader's invite poster and the campaign kit's session poster.

Chinese text needs a CJK font. It is looked up at run time: the `LINLI_CJK_FONT` setting, then the
places Debian's fonts-noto-cjk and similar packages install to, then `fc-match` if it exists. When none
is found the caller gets 503 `cjk_font_missing`: a poster is never drawn with tofu boxes.
QR codes come from `linli.qrcodes` (always a regular QR code, never Micro QR).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from linli import qrcodes
from linli.errors import Unavailable

POSTER_SIZE = (750, 1334)  # a phone screen at 2x (375 × 667 points)
KNOWN_FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu: fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian: fonts-wqy-microhei
    "/System/Library/Fonts/PingFang.ttc",  # macOS
)
SC_FACE = 2  # in NotoSansCJK-*.ttc the faces are JP, KR, SC, TC, HK: simplified Chinese is index 2

GREEN = (46, 125, 50)
CREAM = (255, 250, 240)
INK = (33, 33, 33)
MUTED = (97, 97, 97)
WHITE = (255, 255, 255)


class CjkFontMissing(Unavailable):
    default_code = "cjk_font_missing"
    default_message = "服务器缺少中文字体，暂时无法生成图片：请安装 fonts-noto-cjk，或用 LINLI_CJK_FONT 指定字体文件"


def fc_match() -> str | None:
    """The file fontconfig would use for simplified Chinese, if fontconfig is installed."""
    command = shutil.which("fc-match")
    if command is None:
        return None
    try:
        result = subprocess.run(
            [command, "-f", "%{file}", "Noto Sans CJK SC:lang=zh-cn"], capture_output=True, text=True, timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = result.stdout.strip()
    # fontconfig always answers something; only a font that can write Chinese will do.
    if result.returncode != 0 or not path or not any(key in path for key in ("CJK", "cjk", "wqy", "PingFang")):
        return None
    return path


def find_cjk_font(*, setting: str) -> str:
    """The CJK font file to draw with; `setting` (LINLI_CJK_FONT) wins and must exist."""
    if setting:
        if Path(setting).is_file():
            return setting
        raise CjkFontMissing(f"LINLI_CJK_FONT 指定的中文字体文件不存在：{setting}")
    for path in KNOWN_FONT_PATHS:
        if Path(path).is_file():
            return path
    found = fc_match()
    if found and Path(found).is_file():
        return found
    raise CjkFontMissing()


class Fonts:
    """One font file at the sizes a poster needs; the regular file's bold sibling when there is one."""

    def __init__(self, path: str) -> None:
        self.path = path
        bold = path.replace("Regular", "Bold")
        self.bold_path = bold if bold != path and Path(bold).is_file() else path

    def get(self, size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
        path = self.bold_path if bold else self.path
        index = SC_FACE if path.endswith(".ttc") and "NotoSansCJK" in path else 0
        return ImageFont.truetype(path, size=size, index=index)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Chinese wraps between any two characters; a line never runs wider than `width` pixels."""
    lines, line = [], ""
    for ch in text:
        if font.getlength(line + ch) > width and line:
            lines.append(line)
            line = ch
        else:
            line += ch
    return [*lines, line] if line else lines


def centered(draw: ImageDraw.ImageDraw, y: int, text: str, font: ImageFont.FreeTypeFont, fill, *, width: int) -> int:
    """Draws `text` centred at height y; returns the y below it."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (right - left)) // 2 - left, y - top), text, font=font, fill=fill)
    return y + (bottom - top)


def qr_image(text: str, *, size: int) -> Image.Image:
    """The QR code of `text` (quiet zone included), at the largest whole scale that fits `size` pixels."""
    modules = qrcodes.qr_symbol(text).symbol_size(scale=1, border=qrcodes.QUIET_ZONE)[0]
    scale = max(1, size // modules)
    return Image.open(io.BytesIO(qrcodes.qr_png(text, scale=scale))).convert("RGB")


@dataclass(frozen=True)
class InvitePoster:
    brand_name: str
    badge: str  # 云顶华府·优邻优选社区主理人
    leader_name: str
    invitation: str  # one line of invitation copy
    invite_code: str
    link: str  # what the QR code holds


def invite_poster_png(poster: InvitePoster, *, font_path: str) -> bytes:
    """The leader's invite poster: brand, badge, name, invitation, the code in large letters, the QR code."""
    width, height = POSTER_SIZE
    fonts = Fonts(font_path)
    image = Image.new("RGB", POSTER_SIZE, CREAM)
    draw = ImageDraw.Draw(image)

    draw.rectangle((0, 0, width, 150), fill=GREEN)
    centered(draw, 48, poster.brand_name, fonts.get(52, bold=True), WHITE, width=width)

    badge_font = fonts.get(30)
    left, top, right, bottom = draw.textbbox((0, 0), poster.badge, font=badge_font)
    pill_w = min(width - 60, right - left + 60)
    draw.rounded_rectangle(((width - pill_w) // 2, 190, (width + pill_w) // 2, 250), radius=30, outline=GREEN, width=3)
    centered(draw, 204, poster.badge, badge_font, GREEN, width=width)

    y = centered(draw, 285, poster.leader_name, fonts.get(72, bold=True), INK, width=width) + 30
    copy_font = fonts.get(32)
    for line in wrap(poster.invitation, copy_font, width - 120)[:3]:
        y = centered(draw, y, line, copy_font, MUTED, width=width) + 14

    y = max(y + 20, 560)
    centered(draw, y, "邀请码", fonts.get(28), MUTED, width=width)
    centered(draw, y + 50, " ".join(poster.invite_code), fonts.get(84, bold=True), INK, width=width)

    qr = qr_image(poster.link, size=420)
    qr_top = 760
    image.paste(qr, ((width - qr.width) // 2, qr_top))
    footer_font = fonts.get(26)
    y = centered(draw, qr_top + qr.height + 24, "微信或手机相机扫码，进入直播间", footer_font, MUTED, width=width)
    if y + 40 < height:
        centered(draw, y + 12, poster.link, fonts.get(22), MUTED, width=width)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class CampaignPoster:
    brand_name: str
    title: str  # the session's
    starts: str  # the start as the brand's clock reads it: 12月5日（周六）19:30
    cover: bytes | None  # an uploaded JPEG/PNG/WebP, or None for a drawn panel
    badge: str
    leader_name: str
    invite_code: str
    link: str  # what the QR code holds: the leader's invite link


COVER_BOX = (0, 120, 750, 540)


def _cover(image: Image.Image, draw: ImageDraw.ImageDraw, poster: CampaignPoster, fonts: Fonts) -> None:
    left, top, right, bottom = COVER_BOX
    size = (right - left, bottom - top)
    if poster.cover is not None:
        with Image.open(io.BytesIO(poster.cover)) as cover:
            fitted = ImageOps.fit(ImageOps.exif_transpose(cover).convert("RGB"), size, method=Image.Resampling.LANCZOS)
        image.paste(fitted, (left, top))
        return
    # No cover uploaded: a panel that still says what the session is, never an empty box.
    draw.rectangle(COVER_BOX, fill=(232, 245, 233))
    y = centered(draw, top + 110, "LIVE", fonts.get(120, bold=True), GREEN, width=size[0]) + 40
    centered(draw, y, "社区专享价 · 到小区自提", fonts.get(40), GREEN, width=size[0])


def campaign_poster_png(poster: CampaignPoster, *, font_path: str) -> bytes:
    """The session poster of one leader's campaign kit: brand, cover, title, start time, the leader's badge and
    name, and the QR code of the leader's invite link."""
    width, height = POSTER_SIZE
    fonts = Fonts(font_path)
    image = Image.new("RGB", POSTER_SIZE, CREAM)
    draw = ImageDraw.Draw(image)

    draw.rectangle((0, 0, width, COVER_BOX[1]), fill=GREEN)
    centered(draw, 34, f"{poster.brand_name} · 直播预告", fonts.get(44, bold=True), WHITE, width=width)
    _cover(image, draw, poster, fonts)

    y = COVER_BOX[3] + 30
    title_font = fonts.get(46, bold=True)
    for line in wrap(poster.title, title_font, width - 80)[:2]:
        y = centered(draw, y, line, title_font, INK, width=width) + 14
    time_font = fonts.get(36, bold=True)
    label = f"{poster.starts} 开播"
    left, top, right, bottom = draw.textbbox((0, 0), label, font=time_font)
    pill_w = min(width - 60, right - left + 60)
    y += 16
    draw.rounded_rectangle(((width - pill_w) // 2, y, (width + pill_w) // 2, y + 64), radius=32, fill=GREEN)
    centered(draw, y + 12, label, time_font, WHITE, width=width)

    y += 96
    badge_font = fonts.get(28)
    y = centered(draw, y, poster.badge, badge_font, GREEN, width=width) + 14
    y = centered(draw, y, f"{poster.leader_name} 邀您来看", fonts.get(40, bold=True), INK, width=width) + 24

    qr = qr_image(poster.link, size=min(320, height - y - 110))
    image.paste(qr, ((width - qr.width) // 2, y))
    y = centered(draw, y + qr.height + 14, f"扫码进直播间 · 邀请码 {poster.invite_code}", fonts.get(28), MUTED, width=width)
    if y + 36 < height:
        centered(draw, y + 10, poster.link, fonts.get(22), MUTED, width=width)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
