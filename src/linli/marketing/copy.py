"""预告话术 templates: the brand writes the text once, each leader's kit fills in the leader's own details.

A placeholder is a name in braces from PLACEHOLDERS; `{{` and `}}` are literal braces. Anything else in braces,
or a brace left open, is refused when the template is saved (422), so a kit never shows a half-filled text.
"""

from __future__ import annotations

from dataclasses import dataclass

from linli.errors import InvalidInput

PLACEHOLDERS = {
    "团长": "团长的昵称（海报上的名字）",
    "小区": "团长所在小区",
    "品牌": "品牌名",
    "直播标题": "本场直播的标题",
    "开播时间": "开播时间（品牌时区，如 12月5日（周六）19:30）",
    "邀请链接": "团长的邀请链接",
    "邀请码": "团长的邀请码",
}
DEFAULT_TEMPLATE_NAME = "默认预告"
DEFAULT_TEMPLATE_BODY = (
    "【{品牌}直播预告】{开播时间}，「{直播标题}」准时开播！我是{小区}的社区主理人{团长}，直播间有咱们小区的专享价，"
    "下单后到小区自提点取货，坏果包赔。点链接进直播间：{邀请链接}（邀请码 {邀请码}）"
)
MAX_NAME = 32
MAX_BODY = 1000


@dataclass(frozen=True)
class Piece:
    text: str
    placeholder: bool


def parse(body: str) -> list[Piece]:
    """The template's literal runs and placeholders; 422 for an unknown placeholder or an unbalanced brace."""
    pieces: list[Piece] = []
    literal: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch in "{}" and body[i : i + 2] in ("{{", "}}"):
            literal.append(ch)
            i += 2
            continue
        if ch == "}":
            raise InvalidInput("话术模板中有多余的「}」；要写花括号本身请写「}}」", code="copy_template_malformed")
        if ch == "{":
            end = body.find("}", i + 1)
            if end < 0 or "{" in body[i + 1 : end]:
                raise InvalidInput("话术模板中有未闭合的「{」；要写花括号本身请写「{{」", code="copy_template_malformed")
            name = body[i + 1 : end].strip()
            if name not in PLACEHOLDERS:
                raise InvalidInput(
                    f"话术模板中有未知的占位符「{{{name}}}」，可用：" + "、".join(f"{{{k}}}" for k in PLACEHOLDERS),
                    code="copy_template_placeholder_unknown", details={"placeholder": name, "known": list(PLACEHOLDERS)},
                )
            if literal:
                pieces.append(Piece("".join(literal), placeholder=False))
                literal = []
            pieces.append(Piece(name, placeholder=True))
            i = end + 1
            continue
        literal.append(ch)
        i += 1
    if literal:
        pieces.append(Piece("".join(literal), placeholder=False))
    return pieces


def clean_template(*, name: str, body: str) -> tuple[str, str]:
    name, body = name.strip(), body.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidInput(f"模板名称须为 1 到 {MAX_NAME} 个字", code="copy_template_name_invalid")
    if not 1 <= len(body) <= MAX_BODY:
        raise InvalidInput(f"话术内容须为 1 到 {MAX_BODY} 个字", code="copy_template_body_invalid")
    parse(body)
    return name, body


def fill(body: str, values: dict[str, str]) -> str:
    """The text with every placeholder filled (`values` has every name of PLACEHOLDERS)."""
    return "".join(values[p.text] if p.placeholder else p.text for p in parse(body))
