"""Claim photos: checked by their first bytes (never by the name or the declared type), sized, stored.

A photo is JPEG, PNG or WebP, at most MAX_PHOTO_BYTES, and a claim has at most MAX_PHOTOS. Checking
happens before anything is written, so a refused photo leaves no trace; the files are put into the
storage only after every rule of the claim has passed, and removed again if the claim is not saved.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from linli.errors import DomainError, InvalidInput
from linli.storage import FileStorage

log = logging.getLogger("linli.aftersales.photos")

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 6


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


def check_photos(files: list[bytes]) -> list[Photo]:
    """Checks every file; the same picture sent twice is kept once."""
    if len(files) > MAX_PHOTOS:
        raise InvalidInput(f"最多上传 {MAX_PHOTOS} 张图片", code="too_many_photos", details={"max": MAX_PHOTOS})
    photos: dict[str, Photo] = {}
    for index, data in enumerate(files):
        photo = check_photo(data, index=index)
        photos.setdefault(photo.sha256, photo)
    return list(photos.values())


def storage_key(*, claim_id: int, photo: Photo) -> str:
    return f"claims/{claim_id}/{photo.sha256[:32]}.{photo.extension}"


async def store(storage: FileStorage, items: list[tuple[str, Photo]]) -> None:
    """Puts every photo; if one fails, the ones already put are removed before the error goes on."""
    done: list[str] = []
    try:
        for key, photo in items:
            await storage.put(key, photo.data, content_type=photo.content_type)
            done.append(key)
    except BaseException:
        await discard(storage, done)
        raise


async def discard(storage: FileStorage, keys: list[str]) -> None:
    for key in keys:
        try:
            await storage.delete(key)
        except Exception:  # noqa: BLE001 - an orphan file is harmless; say so and go on
            log.exception("could not remove claim photo %s", key)
