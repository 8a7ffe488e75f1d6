"""WeChat Pay v3, offline: keys and certificates generated here, notifications built exactly as WeChat builds
them (resource encrypted with AEAD_AES_256_GCM under the APIv3 key, the body signed with the platform key
over "timestamp\\nnonce\\nbody\\n"), and a stand-in for the `requests` module the SDK calls.

The stand-in checks each request's merchant signature (Authorization header) and answers with bodies
shaped like the examples of the WeChat Pay v3 documentation (tests/payments/recorded/), signed with the
platform key as WeChat signs its answers (the SDK verifies them).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from linli.payments.wechatpay import WeChatPayConfig

RECORDED = Path(__file__).parent / "recorded"
MCHID = "1230000109"
APPID = "wxd678efh567hg6787"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
PUBLIC_KEY_ID = "PUB_KEY_ID_0112300001092025112000000000000001"
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PLATFORM_CERT_SERIAL = 0x3775B6A45ACD588826D15E583A95F5DD


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / f"{name}.json").read_text())


def new_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def public_pem(key: RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def rsa_sign(key: RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: RSAPrivateKey, message: str, signature: str) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.public_key().verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def platform_certificate(key: RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(PLATFORM_CERT_SERIAL)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Keys:
    merchant: RSAPrivateKey = field(default_factory=new_key)
    platform: RSAPrivateKey = field(default_factory=new_key)
    apiv3_key: str = field(default_factory=lambda: secrets.token_hex(16))  # 32 bytes

    def config(self, **changes: Any) -> WeChatPayConfig:
        base = {
            "mchid": MCHID, "appid": APPID, "cert_serial_no": MERCHANT_SERIAL, "private_key": private_pem(self.merchant),
            "apiv3_key": self.apiv3_key, "notify_url": "https://linli.example.com/api/v1/payments/wechatpay/notify",
            "public_key": public_pem(self.platform), "public_key_id": PUBLIC_KEY_ID,
        }
        base.update(changes)
        return WeChatPayConfig(**base)


def encrypt_resource(apiv3_key: str, resource: dict[str, Any], *, original_type: str) -> dict[str, str]:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat sends
    associated_data = original_type
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), associated_data.encode()
    )
    return {
        "original_type": original_type, "algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data, "nonce": nonce,
    }


def signed_headers(key: RSAPrivateKey, body: str, *, at: datetime, serial: str = PUBLIC_KEY_ID) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    nonce = secrets.token_hex(16)
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(key, f"{timestamp}\n{nonce}\n{body}\n"),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Content-Type": "application/json",
    }


@dataclass
class WeChatNotification:
    headers: dict[str, str]
    body: str


def notification(
    keys: Keys,
    *,
    event_type: str,
    resource: dict[str, Any],
    at: datetime,
    original_type: str = "transaction",
    signing_key: RSAPrivateKey | None = None,
    serial: str = PUBLIC_KEY_ID,
    apiv3_key: str | None = None,
    notification_id: str | None = None,
) -> WeChatNotification:
    """A notification exactly as WeChat Pay sends it (everything overridable, to forge)."""
    envelope = {
        "id": notification_id or f"EV-{secrets.token_hex(10)}",
        "create_time": at.astimezone().isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功" if event_type.startswith("TRANSACTION") else "退款状态变更",
        "resource": encrypt_resource(apiv3_key or keys.apiv3_key, resource, original_type=original_type),
    }
    body = json.dumps(envelope, ensure_ascii=False)
    return WeChatNotification(signed_headers(signing_key or keys.platform, body, at=at, serial=serial), body)


def payment_resource(*, out_trade_no: str, total: int, transaction_id: str = "4200001234202611200000000001", **changes: Any) -> dict:
    resource = recorded("notify_transaction_success")
    resource.update(
        out_trade_no=out_trade_no, transaction_id=transaction_id, mchid=MCHID, appid=APPID,
        amount={"payer_total": total, "total": total, "currency": "CNY", "payer_currency": "CNY"},
    )
    resource.update(changes)
    return resource


def refund_resource(*, out_trade_no: str, out_refund_no: str, total: int, refund: int, status: str = "SUCCESS") -> dict:
    resource = recorded("notify_refund_success")
    resource.update(
        mchid=MCHID, out_trade_no=out_trade_no, out_refund_no=out_refund_no, refund_status=status,
        amount={"total": total, "refund": refund, "payer_total": total, "payer_refund": refund},
    )
    return resource


class FakeResponse:
    def __init__(self, status_code: int, text: str, headers: dict[str, str]) -> None:
        self.status_code = status_code
        self.text = text
        self.content = text.encode()
        self.headers = headers


AUTH = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any] | None
    headers: dict[str, str]


class FakeWeChatApi:
    """Stands in for the `requests` module inside wechatpayv3.core (monkeypatched), offline."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.calls: list[Call] = []
        self.answers: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}

    def answer(self, method: str, path: str, status: int, body: dict[str, Any]) -> None:
        self.answers.setdefault((method, path), []).append((status, body))

    def _handle(self, method: str, url: str, body: dict[str, Any] | None, headers: dict[str, str]) -> FakeResponse:
        path = url.removeprefix("https://api.mch.weixin.qq.com")
        self._check_merchant_signature(method, path, body, headers)
        self.calls.append(Call(method, path, body, dict(headers)))
        queue = self.answers.get((method, path.split("?")[0]))
        if not queue:
            raise AssertionError(f"unexpected WeChat Pay call {method} {path}")
        status, answer = queue.pop(0) if len(queue) > 1 else queue[0]
        text = json.dumps(answer, ensure_ascii=False)
        return FakeResponse(status, text, signed_headers(self.keys.platform, text, at=datetime.now(UTC)))

    def _check_merchant_signature(self, method: str, path: str, body: dict | None, headers: dict[str, str]) -> None:
        scheme, _, params = headers["Authorization"].partition(" ")
        assert scheme == "WECHATPAY2-SHA256-RSA2048"
        fields = dict(AUTH.findall(params))
        assert fields["mchid"] == MCHID and fields["serial_no"] == MERCHANT_SERIAL
        assert abs(int(fields["timestamp"]) - time.time()) < 60
        message = f"{method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n{json.dumps(body) if body else ''}\n"
        assert rsa_verify(self.keys.merchant, message, fields["signature"]), "merchant signature invalid"

    # the requests API the SDK uses
    def post(self, url: str, json: Any = None, data: Any = None, headers: Any = None, **_: Any) -> FakeResponse:
        return self._handle("POST", url, json, headers or {})

    def get(self, url: str, headers: Any = None, **_: Any) -> FakeResponse:
        return self._handle("GET", url, None, headers or {})
