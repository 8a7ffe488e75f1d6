"""The local file storage and the photo checks, without a database."""

from __future__ import annotations

import pytest

from linli.aftersales import photos
from linli.errors import InvalidInput, NotFound
from linli.storage import LocalFileStorage, check_key
from tests.aftersales.setup import JPEG, PNG, WEBP


async def test_put_open_delete(tmp_path):
    storage = LocalFileStorage(tmp_path / "media")
    await storage.put("claims/1/abc.jpg", JPEG, content_type="image/jpeg")
    assert await storage.open("claims/1/abc.jpg") == JPEG
    assert [p.name for p in (tmp_path / "media" / "claims" / "1").iterdir()] == ["abc.jpg"]  # no temporary left
    await storage.delete("claims/1/abc.jpg")
    await storage.delete("claims/1/abc.jpg")  # deleting twice is fine
    with pytest.raises(NotFound):
        await storage.open("claims/1/abc.jpg")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "claims//x.jpg", "claims/./x", "Claims/X.JPG", "a/../b", ""])
def test_keys_cannot_leave_the_root(key):
    with pytest.raises(ValueError):
        check_key(key)


def test_images_are_recognised_by_their_bytes():
    assert photos.sniff(JPEG) == ("image/jpeg", "jpg")
    assert photos.sniff(PNG) == ("image/png", "png")
    assert photos.sniff(WEBP) == ("image/webp", "webp")
    for fake in (b"", b"GIF89a" + b"\x00" * 20, b"RIFF\x00\x00\x00\x00WAVE", b"%PDF-1.7", b"\xff\xd8"):
        assert photos.sniff(fake) is None
        with pytest.raises(InvalidInput):
            photos.check_photo(fake, index=0)


class BreaksOnSecondPut(LocalFileStorage):
    async def put(self, key, data, *, content_type):
        if len(list(self.root.rglob("*.jpg"))) == 1:
            raise OSError("disk full")
        await super().put(key, data, content_type=content_type)


async def test_a_failed_store_removes_what_it_put(tmp_path):
    storage = BreaksOnSecondPut(tmp_path)
    checked = photos.check_photos([JPEG, JPEG + b"\x01"])
    items = [(photos.storage_key(claim_id=1, photo=p), p) for p in checked]
    with pytest.raises(OSError):
        await photos.store(storage, items)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
