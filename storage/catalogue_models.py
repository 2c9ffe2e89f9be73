"""The 需求目录 (catalogue of needs) of a campaign: one row a 需求, as the ministry publishes it.

Rows come from the ministry's spreadsheet (`admin import-catalogue`) or from a 需求表 confirmed in the
bot that an admin proposed (`admin propose-need`; `source_submission_id` keeps it from being added twice).
A firm that chose 不公开 is stored without its name (`firm` empty, `publish_name` false).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import utcnow

STATES = ("published", "withdrawn")


class CatalogueItem(SQLModel, table=True):
    __tablename__ = "catalogue_items"
    __table_args__ = (
        UniqueConstraint("campaign_id", "code", name="uq_catalogue_campaign_code"),
        Index("ix_catalogue_campaign_state", "campaign_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=64)
    code: str = Field(max_length=40)  # 代码 / 需求编号, as published
    name: str = Field(max_length=200)  # 事项名称
    firm: str = Field(default="", max_length=200)  # the publishing firm; empty when 不公开
    publish_name: bool = Field(default=True)
    industry: str = Field(default="", max_length=2)  # GB/T 4754 大类, two digits
    region: str = Field(default="", max_length=40)
    content: str = Field(default="", sa_column=Column(Text, nullable=False))  # 需求内容
    state: str = Field(default="published", max_length=16)  # published | withdrawn
    source_submission_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
