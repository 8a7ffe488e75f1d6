"""Every QR code linli draws (pickup codes, invite links) comes from here, so none can be Micro QR.

segno's `make` picks Micro QR for short content such as a six-digit pickup code, and common phone and
WeChat scanners cannot read Micro QR. So: always a regular QR code, error correction at least M (segno
raises it when that costs no extra size) and the 4-module quiet zone the standard asks for.
"""

from __future__ import annotations

import io

import segno

ERROR_LEVEL = "m"
QUIET_ZONE = 4  # modules


def qr_symbol(text: str) -> segno.QRCode:
    return segno.make_qr(text, error=ERROR_LEVEL)


def qr_png(text: str, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    qr_symbol(text).save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    return buffer.getvalue()
