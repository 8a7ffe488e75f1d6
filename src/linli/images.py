"""Uploaded pictures (claim photos, campaign covers, community posts): checked by their first bytes, never by
the name or the declared type, and sized, before anything is stored."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image

from linli.errors import DomainError, InvalidInput

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before anything draws it


class PhotoTooLarge(DomainError):
    status_code = 413
    default_code = "photo_too_large"
    default_message = f"单张图片不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB"


@dataclass(frozen=True)
class Photo:
    data: bytes
    content_type: str
    extension: str
    sha256: str

    @property
    def size_bytes(self) -> int:
        return len(self.data)


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's magic bytes, or None if it is not a supported image."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def check_photo(data: bytes, *, index: int) -> Photo:
    """One uploaded file as a Photo; 413 if too large, 422 if not a JPEG/PNG/WebP image."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge(details={"photo": index, "max_bytes": MAX_PHOTO_BYTES})
    kind = sniff(data)
    if kind is None:
        raise InvalidInput("只能上传 JPG、PNG 或 WebP 图片", code="photo_not_image", details={"photo": index})
    return Photo(data=data, content_type=kind[0], extension=kind[1], sha256=hashlib.sha256(data).hexdigest())


def check_image(data: bytes) -> None:
    """ValueError unless Pillow can open and fully decode `data` as a picture of a sane size."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ValueError("image too large")
            image.load()
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(str(exc)) from exc
