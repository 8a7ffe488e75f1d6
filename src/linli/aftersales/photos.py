"""Claim photos: checked by their first bytes (never by the name or the declared type), sized, stored.

A photo is JPEG, PNG or WebP, at most MAX_PHOTO_BYTES, and a claim has at most MAX_PHOTOS. Checking
happens before anything is written, so a refused photo leaves no trace; the files are put into the
storage only after every rule of the claim has passed, and removed again if the claim is not saved.
"""

from __future__ import annotations

import logging

from linli.errors import InvalidInput
from linli.images import MAX_PHOTO_BYTES, Photo, PhotoTooLarge, check_photo, sniff  # noqa: F401 - the claim's rules
from linli.storage import FileStorage

log = logging.getLogger("linli.aftersales.photos")

MAX_PHOTOS = 6


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
