"""Page/page_size pagination shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class PageParams(BaseModel):
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_params(
    page: Annotated[int, Query(ge=1, le=100_000, description="页码，从 1 开始")] = 1,
    page_size: Annotated[int, Query(ge=1, le=100, description="每页条数")] = 20,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


def page_of(items: Sequence[T], params: PageParams) -> Page[T]:
    """One page of a short list already read whole (an order's payments, a brand's categories)."""
    return Page(
        items=list(items[params.offset : params.offset + params.page_size]),
        total=len(items),
        page=params.page,
        page_size=params.page_size,
    )


async def fetch_page(session: AsyncSession, query: Select, params: PageParams) -> tuple[list, int]:
    """Rows of one page and the total count of the unpaged query."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await session.scalars(query.limit(params.page_size).offset(params.offset))).all()
    return list(rows), int(total or 0)
