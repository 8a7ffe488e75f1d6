"""Campaign kits over HTTP: staff write copy templates and set a session's template and poster cover; a leader
reads their own kits and downloads each poster. The kits themselves are made by the worker (handlers.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Response, UploadFile

from linli import images
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.http import AuthUser, Ctx, Now, ReadSession, WriteSession
from linli.marketing import copy, service
from linli.marketing.models import CopyTemplate
from linli.marketing.schemas import (
    CampaignSettingsOut,
    CopyTemplateIn,
    CopyTemplateOut,
    CopyTemplatePatch,
    CopyTemplatesOut,
    KitOut,
    KitsOut,
    SessionKitOut,
    SessionKitsOut,
    TemplateChoiceIn,
)
from linli.openapi import errors
from linli.pagination import PageParams, page_of, page_params

router = APIRouter(prefix="/api/v1", tags=["marketing"], responses=errors(409))
Paging = Annotated[PageParams, Depends(page_params)]
POSTER_PNG = {200: {"content": {"image/png": {}}, "description": "直播预告海报 PNG 图片（750×1334）"}, **errors(503)}


def _template_out(row: CopyTemplate) -> CopyTemplateOut:
    return CopyTemplateOut.model_validate(row, from_attributes=True)


def kit_out(view: service.KitView) -> KitOut:
    kit = view.kit
    return KitOut(
        id=kit.id, session_id=kit.session_id, session_title=view.live.title, session_status=view.live.status,
        scheduled_start_at=view.live.scheduled_start_at, starts_text=view.starts, badge=kit.badge,
        leader_name=kit.leader_name, invite_code=kit.invite_code, invite_link=kit.invite_link, copy_text=kit.copy_text,
        version=kit.version, made_at=kit.made_at, remade_at=kit.remade_at,
        poster_url=f"/api/v1/brands/{kit.brand_id}/leader/kits/{kit.id}/poster.png",
    )


@router.get("/brands/{brand_id}/copy-templates", response_model=CopyTemplatesOut, summary="话术模板（品牌员工）")
async def list_templates(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> CopyTemplatesOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows = await service.list_templates(session=session, brand_id=brand_id)  # at most MAX_TEMPLATES
    page = page_of([_template_out(r) for r in rows], paging)
    return CopyTemplatesOut(**page.model_dump(), placeholders=copy.PLACEHOLDERS)


@router.post(
    "/brands/{brand_id}/copy-templates", response_model=CopyTemplateOut, status_code=201,
    summary="新建话术模板（品牌员工）", description="占位符不认识或花括号不成对时 422，什么也不写。",
)
async def create_template(brand_id: IdPath, body: CopyTemplateIn, user: AuthUser, session: WriteSession, now: Now) -> CopyTemplateOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    row = await service.create_template(
        session=session, brand_id=brand_id, name=body.name, body=body.body, is_default=body.is_default, now=now
    )
    return _template_out(row)


@router.patch(
    "/brands/{brand_id}/copy-templates/{template_id}", response_model=CopyTemplateOut,
    summary="修改话术模板（品牌员工；用它的作战包随后重做）",
)
async def update_template(
    brand_id: IdPath, template_id: IdPath, body: CopyTemplatePatch, user: AuthUser, session: WriteSession, now: Now
) -> CopyTemplateOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    row = await service.update_template(
        session=session, brand_id=brand_id, template_id=template_id, name=body.name, body=body.body,
        is_default=body.is_default, now=now,
    )
    return _template_out(row)


def _settings_out(found: service.CampaignSettings) -> CampaignSettingsOut:
    return CampaignSettingsOut(
        session_id=found.session_id, copy_template_id=found.copy_template_id, has_cover=found.has_cover,
        template_body=found.template_body,
    )


@router.get(
    "/brands/{brand_id}/live-sessions/{session_id}/campaign", response_model=CampaignSettingsOut,
    summary="本场作战包的设置：话术模板、海报封面（品牌员工）",
)
async def campaign(brand_id: IdPath, session_id: IdPath, user: AuthUser, session: ReadSession) -> CampaignSettingsOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    return _settings_out(await service.campaign_settings(session=session, brand_id=brand_id, session_id=session_id))


@router.put(
    "/brands/{brand_id}/live-sessions/{session_id}/campaign/template", response_model=CampaignSettingsOut,
    summary="选定本场的话术模板（品牌员工；null 为品牌默认）",
)
async def choose_template(
    brand_id: IdPath, session_id: IdPath, body: TemplateChoiceIn, user: AuthUser, session: WriteSession, now: Now
) -> CampaignSettingsOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    await service.choose_template(
        session=session, brand_id=brand_id, session_id=session_id, template_id=body.copy_template_id, now=now
    )
    return _settings_out(await service.campaign_settings(session=session, brand_id=brand_id, session_id=session_id))


@router.put(
    "/brands/{brand_id}/live-sessions/{session_id}/campaign/cover", response_model=CampaignSettingsOut,
    summary="上传本场海报封面（品牌员工；multipart 字段 cover，JPG/PNG/WebP，≤ 5 MB）", responses=errors(413),
)
async def upload_cover(
    brand_id: IdPath, session_id: IdPath, user: AuthUser, ctx: Ctx, session: WriteSession, now: Now,
    cover: Annotated[UploadFile, File(description="封面图片")],
) -> CampaignSettingsOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    data = await cover.read(images.MAX_PHOTO_BYTES + 1)  # one byte past the limit tells "too large"
    await service.set_cover(session=session, storage=ctx.storage, brand_id=brand_id, session_id=session_id, data=data, now=now)
    return _settings_out(await service.campaign_settings(session=session, brand_id=brand_id, session_id=session_id))


@router.get(
    "/brands/{brand_id}/live-sessions/{session_id}/kits", response_model=SessionKitsOut,
    summary="本场每位团长的作战包（品牌员工）",
)
async def session_kits(brand_id: IdPath, session_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> SessionKitsOut:
    await brands.require_staff(session=session, brand_id=brand_id, user_id=user.user_id)
    rows, total = await service.session_kits(session=session, brand_id=brand_id, session_id=session_id, params=paging)
    return SessionKitsOut(
        items=[SessionKitOut.model_validate(r, from_attributes=True) for r in rows], total=total, page=paging.page,
        page_size=paging.page_size,
    )


@router.get("/brands/{brand_id}/leader/kits", response_model=KitsOut, summary="我的直播作战包（在任团长本人）")
async def my_kits(brand_id: IdPath, user: AuthUser, session: ReadSession, paging: Paging) -> KitsOut:
    views = await service.leader_kits(session=session, brand_id=brand_id, user_id=user.user_id)  # the upcoming few
    return KitsOut(**page_of([kit_out(v) for v in views], paging).model_dump())


@router.get(
    "/brands/{brand_id}/leader/kits/{kit_id}/poster.png", response_class=Response, responses=POSTER_PNG,
    summary="作战包海报：封面、标题、开播时间、徽章与邀请二维码（团长本人，可下载分享）",
)
async def my_kit_poster(brand_id: IdPath, kit_id: IdPath, user: AuthUser, ctx: Ctx, session: ReadSession) -> Response:
    view = await service.leader_kit(session=session, brand_id=brand_id, user_id=user.user_id, kit_id=kit_id)
    poster = await service.kit_poster(session=session, storage=ctx.storage, settings=ctx.settings, brand_id=brand_id, view=view)
    return Response(
        content=poster.png, media_type="image/png",
        headers={"Cache-Control": "private, no-store", "Content-Disposition": f'attachment; filename="{poster.filename}"'},
    )
