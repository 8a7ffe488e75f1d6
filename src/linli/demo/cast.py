"""Who is in the demo: the brand's logins, the communities, the two leaders and their neighbours."""

from __future__ import annotations

from dataclasses import dataclass

BRAND_SLUG = "youlin"
OWNER_LOGIN = "youlin-owner"
OPERATOR_LOGIN = "youlin-ops"
DEMO_PASSWORD = "youlin-demo-2026"
XIAOLI_PHONE = "13800000001"
WANGJIE_PHONE = "13800000002"
APPLICANT_PHONE = "13800000003"
STRAWBERRY_TITLE = "黄金奶油草莓·邻里专场"
GRAPE_TITLE = "阳光玫瑰青提·上周专场"
# 云顶华府's WeChat group invite link, as 小李 pasted it (翠湖花园's group has none yet: 王姐 has to set it).
YUNDING_JOIN_URL = "https://work.weixin.qq.com/gm/3f9c2b7e1d6a4c58b0e2"


@dataclass(frozen=True)
class DemoCommunity:
    name: str
    address: str
    pickup_name: str
    pickup_address: str
    hours: str
    contact: str
    phone: str


COMMUNITIES = [
    DemoCommunity("云顶华府", "杭州市西湖区云顶路 88 号", "云顶华府自提点", "云顶华府 3 号楼底商·小李便利店", "09:00-21:00", "小李", XIAOLI_PHONE),
    DemoCommunity("翠湖花园", "杭州市西湖区翠湖路 16 号", "翠湖花园自提点", "翠湖花园南门快递驿站", "08:30-20:30", "王姐", WANGJIE_PHONE),
    DemoCommunity("锦绣江南", "杭州市滨江区江南大道 1200 号", "锦绣江南自提点", "锦绣江南 1 期物业服务中心", "10:00-20:00", "物业前台", "13800000009"),
]

SURNAMES = "张王刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"


def neighbour(index: int) -> tuple[str, str]:
    """A stable phone and a friendly display name for the index-th demo neighbour."""
    surname = SURNAMES[index % len(SURNAMES)]
    return f"1390000{index:04d}", f"{surname}{'姐' if index % 2 else '哥'}"
