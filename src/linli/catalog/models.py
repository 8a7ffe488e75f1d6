"""Products, their SKUs with stock, and categories (used later for interest groups)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.db import Base, Fen, IdMixin, IdType


class Category(IdMixin, Base):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("brand_id", "name"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    name: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class Product(IdMixin, Base):
    __tablename__ = "products"

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(2000), default="")
    images: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, archived
    created_at: Mapped[datetime]


class Sku(IdMixin, Base):
    """A sellable variant. stock_quantity is what can still be sold; orders take from it as they reserve."""

    __tablename__ = "skus"
    __table_args__ = (
        CheckConstraint("stock_quantity >= 0", name="stock_quantity_non_negative"),
        CheckConstraint("list_price_fen > 0", name="list_price_positive"),
    )

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"), index=True)
    product_id: Mapped[int] = mapped_column(IdType, ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    list_price_fen: Mapped[Fen]
    stock_quantity: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]


class StockAdjustment(IdMixin, Base):
    """Append-only record of a staff stock change (stock take, delivery, damage) and why it was made.

    Orders take and return stock without a row here: their own status history says why.
    """

    __tablename__ = "stock_adjustments"
    __table_args__ = (Index("ix_stock_adjustments_sku", "sku_id", "id"),)

    brand_id: Mapped[int] = mapped_column(IdType, ForeignKey("brands.id"))
    sku_id: Mapped[int] = mapped_column(IdType, ForeignKey("skus.id"))
    delta: Mapped[int]
    stock_after: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    actor_user_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id"))
    created_at: Mapped[datetime]
