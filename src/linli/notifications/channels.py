"""The channels a push goes out on, behind one interface: the in-app inbox (the default), a WeCom group robot
(企业微信群机器人) and SMS.

A channel knows two things: what it refuses to carry (`refuse_oversized`, asked when the push is enqueued, so a
message too large is a 422 to whoever asked, never a failure found later) and how to send one push (`send`,
asked by the dispatcher in `delivery.py`), which answers an `Outcome`: sent, retry (an error worth trying again),
failed (an error that will not change) or throttled (the robot's 45009: its queue waits, the push is not blamed).

The limits (docs/marketing.md):
- inbox: title ≤ 64 characters, body ≤ 500;
- WeCom robot: text ≤ 2,048 bytes of UTF-8 and markdown ≤ 4,096 (the robot's own limits), an image ≤ 2 MB
  before base64, JPEG or PNG, sent with the md5 of its raw bytes; an image over 2 MB is recompressed and, if need
  be, scaled down until it fits (`fit_image`) rather than refused; 20 messages a minute per robot, which the
  dispatcher keeps;
- SMS: ≤ 200 characters (a message of more than 70 is billed in parts of 67).
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts.sms import SmsSender
from linli.errors import DomainError, InvalidInput
from linli.notifications import service as inbox

INBOX, WECOM, SMS = "inbox", "wecom", "sms"
CHANNELS = (INBOX, WECOM, SMS)
CHANNEL_TEXT = {INBOX: "站内信", WECOM: "企业微信群", SMS: "短信"}
MUTABLE_CHANNELS = (INBOX, SMS)  # a robot speaks to a whole group: nobody mutes it for the others

WECOM_TEXT_MAX_BYTES = 2048
WECOM_MARKDOWN_MAX_BYTES = 4096
WECOM_IMAGE_MAX_BYTES = 2 * 1024 * 1024
WECOM_PER_MINUTE = 20
WECOM_RATE_LIMITED = 45009
SMS_MAX_CHARS = 200
IMAGE_INPUT_MAX_BYTES = 20 * 1024 * 1024  # what may be handed in to be fitted; anything larger is refused

SENT, RETRY, FAILED, THROTTLED = "sent", "retry", "failed", "throttled"


class PushImageTooLarge(DomainError):
    status_code = 413
    default_code = "push_image_too_large"
    default_message = f"图片不能超过 {IMAGE_INPUT_MAX_BYTES // (1024 * 1024)} MB"


@dataclass(frozen=True)
class Message:
    """What a push says, as every channel reads it. `link` is a path of linli or an https address."""

    title: str
    body: str
    markdown: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One push as its channel sends it: the message and the one recipient (a user, a phone or a robot)."""

    push_id: int
    brand_id: int
    kind: str
    part: str  # text, or image (WeCom only)
    message: Message
    user_id: int | None = None
    phone: str | None = None
    webhook_url: str | None = None
    image: bytes | None = None
    image_md5: str | None = None


@dataclass(frozen=True)
class Outcome:
    status: str  # SENT, RETRY, FAILED, THROTTLED
    error: str = ""


class Channel(Protocol):
    name: str

    def refuse_oversized(self, message: Message) -> None:
        """Raises InvalidInput (422) when the channel cannot carry the message as it is."""
        ...

    async def send(self, item: Outgoing, *, session: AsyncSession | None, now: datetime) -> Outcome:
        """Sends one push. `session` is the dispatcher's transaction for a channel that writes to the database
        (the inbox, the local SMS inbox); None for the robot, which is called outside any transaction."""
        ...


def absolute(link: str | None, base_url: str) -> str:
    """A link as someone outside linli can follow it (a robot's group, a phone): paths become full addresses."""
    if not link:
        return ""
    return base_url.rstrip("/") + link if link.startswith("/") else link


def _too_large(what: str, size: int, limit: int, unit: str) -> InvalidInput:
    return InvalidInput(
        f"{what}不能超过 {limit:,} {unit}（现为 {size:,} {unit}）", code="push_too_large",
        details={"limit": limit, "size": size},
    )


def check_inbox(message: Message, base_url: str) -> None:  # noqa: ARG001 - the checks share one signature
    if len(message.title) > inbox.MAX_TITLE:
        raise _too_large("站内信标题", len(message.title), inbox.MAX_TITLE, "个字")
    if len(message.body) > inbox.MAX_BODY:
        raise _too_large("站内信内容", len(message.body), inbox.MAX_BODY, "个字")


class InboxChannel:
    """站内信: `notifications.notify`, in the dispatcher's transaction, deduplicated by the push's id."""

    name = INBOX

    def refuse_oversized(self, message: Message) -> None:
        check_inbox(message, "")

    async def send(self, item: Outgoing, *, session: AsyncSession | None, now: datetime) -> Outcome:
        assert session is not None and item.user_id is not None
        await inbox.notify(
            session=session, user_id=item.user_id, brand_id=item.brand_id, kind=item.kind, title=item.message.title,
            body=item.message.body, link=item.message.link, dedupe_key=f"push:{item.push_id}", now=now,
        )
        return Outcome(SENT)


def sms_text(message: Message, base_url: str) -> str:
    link = absolute(message.link, base_url)
    return f"{message.title}：{message.body}" + (f" {link}" if link else "")


def check_sms(message: Message, base_url: str) -> None:
    text = sms_text(message, base_url)
    if len(text) > SMS_MAX_CHARS:
        raise _too_large("短信（标题、内容与链接）", len(text), SMS_MAX_CHARS, "个字")


class SmsChannel:
    """短信 through the accounts context's SMS sender (the local inbox by default, Tencent Cloud SMS)."""

    name = SMS

    def __init__(self, sender: SmsSender, *, base_url: str) -> None:
        self.sender = sender
        self.base_url = base_url

    def refuse_oversized(self, message: Message) -> None:
        check_sms(message, self.base_url)

    async def send(self, item: Outgoing, *, session: AsyncSession | None, now: datetime) -> Outcome:
        assert session is not None
        if not item.phone:
            return Outcome(FAILED, "该用户没有手机号，无法发送短信")
        try:
            async with session.begin_nested():  # the local inbox writes: undone if the sender then refuses
                await self.sender.send_notice(
                    session=session, phone=item.phone, text=sms_text(item.message, self.base_url), now=now
                )
        except DomainError as exc:
            # A refusal about this number (blocked, malformed) will not change; a limit or an outage may.
            transient = exc.status_code == 429 or exc.status_code >= 500
            return Outcome(RETRY if transient else FAILED, f"{exc.code}：{exc.message}")
        return Outcome(SENT)


def wecom_text(message: Message, base_url: str) -> str:
    link = absolute(message.link, base_url)
    return "\n".join(part for part in (message.title, message.body, link) if part)


def check_wecom(message: Message, base_url: str) -> None:
    if message.markdown is not None:
        size = len(message.markdown.encode("utf-8"))
        if size > WECOM_MARKDOWN_MAX_BYTES:
            raise _too_large("企业微信 markdown 消息", size, WECOM_MARKDOWN_MAX_BYTES, "字节")
        return
    size = len(wecom_text(message, base_url).encode("utf-8"))
    if size > WECOM_TEXT_MAX_BYTES:
        raise _too_large("企业微信文本消息", size, WECOM_TEXT_MAX_BYTES, "字节")


class WeComChannel:
    """企业微信群机器人: one POST of JSON to the robot's webhook per message, answered `{"errcode": 0, …}`.

    A timeout (LINLI_PUSH_WEBHOOK_TIMEOUT_SECONDS), a connection error, an HTTP error or an errcode other than 0
    is worth retrying; 45009 means the robot's minute is full (THROTTLED). Redirects are not followed."""

    name = WECOM

    def __init__(self, *, timeout_seconds: float, base_url: str) -> None:
        self.timeout_seconds = timeout_seconds
        self.base_url = base_url

    def refuse_oversized(self, message: Message) -> None:
        check_wecom(message, self.base_url)

    def payload(self, item: Outgoing) -> dict:
        if item.part == "image":
            assert item.image is not None and item.image_md5 is not None
            encoded = base64.b64encode(item.image).decode()
            return {"msgtype": "image", "image": {"base64": encoded, "md5": item.image_md5}}
        if item.message.markdown is not None:
            return {"msgtype": "markdown", "markdown": {"content": item.message.markdown}}
        return {"msgtype": "text", "text": {"content": wecom_text(item.message, self.base_url)}}

    async def send(self, item: Outgoing, *, session: AsyncSession | None, now: datetime) -> Outcome:
        assert item.webhook_url is not None
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds, follow_redirects=False) as client:
                response = await client.post(item.webhook_url, json=self.payload(item))
        except httpx.TimeoutException:
            return Outcome(RETRY, f"超时：{self.timeout_seconds:g} 秒内没有应答")
        except httpx.HTTPError as exc:
            return Outcome(RETRY, f"连接失败：{type(exc).__name__}")
        if response.status_code != 200:
            return Outcome(RETRY, f"HTTP {response.status_code}")
        try:
            answer = response.json()
            errcode = int(answer["errcode"])
        except (ValueError, TypeError, KeyError):
            return Outcome(RETRY, "应答不是企业微信的 JSON（缺少 errcode）")
        if errcode == 0:
            return Outcome(SENT)
        message = f"errcode {errcode}：{str(answer.get('errmsg', ''))[:200]}"
        return Outcome(THROTTLED if errcode == WECOM_RATE_LIMITED else RETRY, message)


def refuse_oversized(channel: str, message: Message, *, base_url: str) -> None:
    """The size check of `channel` (by name) on `message`, as enqueueing asks it: no sender is needed for it."""
    {INBOX: check_inbox, WECOM: check_wecom, SMS: check_sms}[channel](message, base_url)


def _kind_of(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


@dataclass(frozen=True)
class FittedImage:
    data: bytes
    content_type: str
    md5: str
    sha256: str


def fit_image(data: bytes) -> FittedImage:
    """The image as a robot takes it: a PNG or JPEG of at most 2 MB, the given bytes themselves when they already
    are; otherwise re-encoded as JPEG (quality 85, then 70) and scaled down by a quarter at a time until it fits.
    Not an image: 422; more than 20 MB handed in: 413."""
    if len(data) > IMAGE_INPUT_MAX_BYTES:
        raise PushImageTooLarge(details={"max_bytes": IMAGE_INPUT_MAX_BYTES})
    kind = _kind_of(data)
    if kind is None:
        raise InvalidInput("推送图片只能是 PNG 或 JPEG", code="push_image_invalid")
    if len(data) > WECOM_IMAGE_MAX_BYTES:
        data, kind = _recompress(data), "image/jpeg"
    return FittedImage(data=data, content_type=kind, md5=hashlib.md5(data).hexdigest(),  # noqa: S324 - WeCom asks md5
                       sha256=hashlib.sha256(data).hexdigest())


def _recompress(data: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGB")
    except (OSError, Image.DecompressionBombError) as exc:
        raise InvalidInput("推送图片无法读取", code="push_image_invalid") from exc
    while min(image.size) >= 64:
        for quality in (85, 70):
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=quality, optimize=True)
            if buffer.tell() <= WECOM_IMAGE_MAX_BYTES:
                return buffer.getvalue()
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS)
    raise InvalidInput("推送图片无法压缩到 2 MB 以内", code="push_image_invalid")  # pragma: no cover - 64 px always fits
