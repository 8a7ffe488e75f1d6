"""File storage behind a small interface: uploaded images (claim photos now; posters and UGC later).

The default keeps files in a local folder (`LINLI_MEDIA_DIR`, default `{LINLI_DATA_DIR}/media`). An
object store (OSS, COS, S3) implements the same three methods. Files are never served straight from
the folder: the owning context checks who may see a file and streams it through its own route.

Keys are relative paths chosen by the caller (e.g. `claims/12/3f2a….jpg`): lowercase letters,
digits, `_`, `-`, `.` and `/` separators, no empty or dot segments, so a key can never leave the root.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from linli.errors import NotFound

if TYPE_CHECKING:
    from linli.config import Settings

KEY_PATTERN = re.compile(r"[a-z0-9_-][a-z0-9_.-]*(/[a-z0-9_-][a-z0-9_.-]*)*")
MAX_KEY_LENGTH = 200


def check_key(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH or not KEY_PATTERN.fullmatch(key) or any(p in ("", ".", "..") for p in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class FileStorage(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Stores `data` under `key` (replacing what was there), durably before returning."""
        ...

    async def open(self, key: str) -> bytes:
        """The stored bytes; NotFound (`file_not_found`) if there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Removes the file; deleting a missing key is not an error."""
        ...


class LocalFileStorage:
    """Files under one folder. A write goes to a temporary file first, then is renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:  # noqa: ARG002 - the type is in the key's extension
        await asyncio.to_thread(self._write, self.path_of(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    async def open(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("文件不存在", code="file_not_found") from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)


def build_storage(settings: Settings) -> FileStorage:
    return LocalFileStorage(settings.media_path)
