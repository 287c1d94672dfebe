"""The data dictionary: tables, the form schema and the fixed codes/labels.

Tables (``table=True``) are what the database holds; ``InquiryForm`` is what a user types. It never
raises on construction: ``InquiryForm.errors()`` returns field → Chinese message naming the field,
so a front end can show every wrong field at once and keep what was typed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import phonenumbers
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from pydantic import field_validator
from sqlmodel import Field, SQLModel

from dashboard import regions

# ---------------------------------------------------------------------------------------------
# Codes and labels (DESIGN.md "Fixed names"). Codes are stored; labels are shown.


class Status(StrEnum):
    draft = "draft"
    submitted = "submitted"
    completed = "completed"


class Intent(StrEnum):
    insure = "insure"
    buyer_credit = "buyer_credit"
    other = "other"


class Role(StrEnum):
    enterprise = "enterprise"
    staff = "staff"
    manager = "manager"
    admin = "admin"


class Action(StrEnum):
    created = "created"
    saved = "saved"
    submitted = "submitted"
    assigned = "assigned"
    noted = "noted"
    completed = "completed"


class AccountAction(StrEnum):
    """What ``AccountEvent.action`` records (``dashboard.accounts``)."""

    created = "created"
    registered = "registered"
    role_changed = "role_changed"
    activated = "activated"
    deactivated = "deactivated"
    password_reset = "password_reset"
    password_changed = "password_changed"
    login = "login"
    login_failed = "login_failed"
    locked = "locked"
    unlocked = "unlocked"
    login_refused_locked = "login_refused_locked"
    login_refused_inactive = "login_refused_inactive"
    login_refused_source = "login_refused_source"
    source_blocked = "source_blocked"
    sso_login = "sso_login"
    sso_refused = "sso_refused"
    contacts_granted = "contacts_granted"  # 导出含联系方式 granted (dashboard.privacy)
    contacts_revoked = "contacts_revoked"


class NotificationKind(StrEnum):
    """What a ``Notification`` tells (``dashboard.notify``)."""

    assigned = "assigned"
    new_inquiry = "new_inquiry"
    completed = "completed"
    overdue = "overdue"
    report = "report"  # the report file, to every active manager (``report --mail``)


class NotificationState(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class AccessAction(StrEnum):
    """What a ``DataAccessLog`` row records (``dashboard.privacy``)."""

    viewed = "viewed"  # a staff member's full view of one inquiry's contact data
    exported = "exported"  # an export with full contact data (a filter, a row count)
    anonymised = "anonymised"  # an administrator anonymised one company's inquiries
    purged = "purged"  # the retention purge (anonymised and deleted counts)
    draft_deleted = "draft_deleted"  # a company deleted its own draft


STATUS_LABELS: dict[str, str] = {"draft": "暂存", "submitted": "已提交", "completed": "已完成"}
INTENT_LABELS: dict[str, str] = {
    "insure": "我要投保",
    "buyer_credit": "我要调查买方资信",
    "other": "我有其他需求",
}
ROLE_LABELS: dict[str, str] = {
    "enterprise": "企业用户",
    "staff": "业务人员",
    "manager": "管理人员",
    "admin": "系统管理员",
}
#: Time to complete (submission → completion, whole hours counted in whole seconds, as the
#: rollup stores it): (label, first hour, first hour of the next bucket or None). The report's
#: 处理用时分布 and the triage filter 处理用时 (``?hours=4-24``) share these buckets.
COMPLETION_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("4小时内", 0, 4),
    ("4–24小时", 4, 24),
    ("1–2天", 24, 48),
    ("2–3天", 48, 72),
    ("3–7天", 72, 168),
    ("7天以上", 168, None),
)
ACTION_LABELS: dict[str, str] = {
    "created": "新建",
    "saved": "保存",
    "submitted": "提交",
    "assigned": "分配",
    "noted": "备注",
    "completed": "标记为已完成",
}
ACCOUNT_ACTION_LABELS: dict[str, str] = {
    "created": "创建账号",
    "registered": "企业注册",
    "role_changed": "修改角色",
    "activated": "启用",
    "deactivated": "停用",
    "password_reset": "重置密码",
    "password_changed": "修改密码",
    "login": "登录",
    "login_failed": "登录失败",
    "locked": "锁定",
    "unlocked": "解锁",
    "login_refused_locked": "锁定期间登录",
    "login_refused_inactive": "停用账号登录",
    "login_refused_source": "来源受限时登录",
    "source_blocked": "来源受限",
    "sso_login": "统一身份登录",
    "sso_refused": "统一身份被拒",
    "contacts_granted": "开通导出含联系方式",
    "contacts_revoked": "取消导出含联系方式",
}

NOTIFICATION_KIND_LABELS: dict[str, str] = {
    "assigned": "分配提醒",
    "new_inquiry": "新咨询提醒",
    "completed": "办结通知",
    "overdue": "超时提醒",
    "report": "统计报告",
}
NOTIFICATION_STATE_LABELS: dict[str, str] = {
    "pending": "待发送",
    "sent": "已发送",
    "failed": "发送失败",
}
ACCESS_ACTION_LABELS: dict[str, str] = {
    "viewed": "查看联系方式",
    "exported": "导出含联系方式",
    "anonymised": "匿名化",
    "purged": "定期清理",
    "draft_deleted": "删除暂存",
}

#: Form field → label, in the form's order (DESIGN.md).
FIELD_LABELS: dict[str, str] = {
    "serial": "询保流水号",
    "company_name": "公司名称",
    "region": "注册地址",
    "address_detail": "详细地址",
    "contact_name": "联系人",
    "mobile": "联系手机",
    "landline": "联系固话",
    "email": "联系邮箱",
    "intent": "询保内容",
    "other_needs": "其他需求",
}

MAX_LENGTHS: dict[str, int] = {
    "company_name": 100,
    "address_detail": 200,
    "contact_name": 50,
    "mobile": 32,
    "landline": 40,
    "email": 254,
    "other_needs": 2000,
}


# ---------------------------------------------------------------------------------------------
# Column types


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC in Python on every backend (SQLite stores naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------
# Tables


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    # One account per name whatever its case (``normalize_username``); migration 0010.
    __table_args__ = (
        sa.Index("ix_user_account_username_lower", sa.func.lower(sa.text("username")), unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, sa_column_kwargs={"unique": True}, index=False)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    display_name: str | None = Field(default=None, max_length=64)
    company_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    first_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    must_change_password: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Staff and managers who asked for an e-mail about every new inquiry that no rule routed to
    #: anyone (``dashboard.notify``); migration 0014.
    notify_new_inquiries: bool = Field(default=False)
    #: 导出含联系方式: an administrator allowed this staff member or manager to export full mobile
    #: numbers and e-mail addresses (``dashboard.privacy``); migration 0016.
    may_export_contacts: bool = Field(default=False)

    @property
    def label(self) -> str:
        return self.display_name or self.username


class AccountEvent(SQLModel, table=True):
    """Audit trail of accounts: logins, failures, locks, and every change an administrator makes."""

    __tablename__ = "account_event"
    __table_args__ = (sa.Index("ix_account_event_user_at", "user_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    action: str = Field(max_length=32)
    detail: str = Field(default="", max_length=500)


class LoginSource(SQLModel, table=True):
    """Failed logins per client address (``accounts.authenticate``): a count within a window, and
    the time until which the address is blocked."""

    __tablename__ = "login_source"

    source: str = Field(primary_key=True, max_length=64)
    failures: int = Field(default=0)
    window_start: datetime = Field(sa_type=UTCDateTime)
    blocked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserSession(SQLModel, table=True):
    """A login that outlives the browser tab (``dashboard.sessions``): the browser holds a random
    token in an HttpOnly cookie, the database only its SHA-256. ``token_hash`` stays empty until
    the browser has fetched its cookie with the one-time ``pickup_hash``; a session ends when
    its row is deleted (退出登录, or an administrator's change to the account)."""

    __tablename__ = "user_session"
    __table_args__ = (sa.Index("ix_user_session_user", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str | None = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    pickup_hash: str | None = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    pickup_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    #: The form a page had not saved yet (JSON), so that a reload or a restarted tab finds it.
    unsaved: str | None = Field(default=None, sa_type=sa.Text)


class Notification(SQLModel, table=True):
    """The outbox (``dashboard.notify``): one e-mail to send, written in the same transaction as
    the change it reports, so a mail is never lost and never sent for a change that rolled back.

    ``state`` is ``pending`` until it was sent (``sent``) or given up on (``failed``: a permanent
    refusal, or ``DASHBOARD_MAIL_MAX_TRIES`` attempts); ``tries`` and ``last_error`` say how it
    went. A sender claims a pending row until ``claimed_until`` so that no other sender takes it
    meanwhile. ``once_key`` (unique) marks events told once only (``overdue:<inquiry id>``);
    migration 0014. ``attachment_name``/``attachment_type``/``attachment``: a file sent with the
    mail (the report file of ``report --mail``), NULL on the others; migration 0017."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.Index("ix_notification_due", "state", "next_attempt_at"),
        sa.Index("ix_notification_created", "created_at"),
        sa.Index("ix_notification_inquiry", "inquiry_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    inquiry_id: int | None = Field(default=None, foreign_key="inquiry.id", ondelete="SET NULL")
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=255)
    body: str = Field(sa_type=sa.Text)
    body_html: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    state: str = Field(default="pending", max_length=16)
    tries: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    once_key: str | None = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    attachment_name: str | None = Field(default=None, max_length=255)
    attachment_type: str | None = Field(default=None, max_length=100)
    attachment: bytes | None = Field(default=None, sa_type=sa.LargeBinary)


class BulkLoadPending(SQLModel, table=True):
    """What a running bulk load has taken away (an index, a foreign key, a trigger…) and the
    statement that puts it back, so that a start after a killed load restores it
    (``dashboard.bulkload``); migration 0009."""

    __tablename__ = "bulk_load_pending"

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=128)
    ddl: str = Field(sa_type=sa.Text)


class SerialCounter(SQLModel, table=True):
    """Last serial number handed out per year; the row lock makes allocation race-free."""

    __tablename__ = "serial_counter"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_value: int = Field(default=0, sa_type=sa.BigInteger)


class Inquiry(SQLModel, table=True):
    __tablename__ = "inquiry"
    __table_args__ = (
        sa.Index("ix_inquiry_status_submitted", "status", "submitted_at"),
        sa.Index("ix_inquiry_status_intent_submitted", "status", "intent", "submitted_at"),
        sa.Index(
            "ix_inquiry_province_city_submitted", "province_code", "city_code", "submitted_at"
        ),
        sa.Index("ix_inquiry_assignee_status", "assignee_id", "status"),
        sa.Index("ix_inquiry_owner_created", "owner_id", "created_at"),
        sa.Index("ix_inquiry_submitted", "submitted_at"),
        # 0005_perf_indexes: triage by province (and intent) over a date range, counted in-index.
        sa.Index(
            "ix_inquiry_province_submitted_cover",
            "province_code",
            "submitted_at",
            "status",
            "intent",
        ),
        sa.Index("ix_inquiry_mobile", "mobile"),
        sa.Index("ix_inquiry_landline", "landline"),
        sa.Index("ix_inquiry_email", "email"),
        # 0006/0007: possible duplicates by company, newest first (replaces company_name alone).
        sa.Index("ix_inquiry_company_submitted", "company_name", "submitted_at", "id"),
        # 0020: the waiting inquiries of a period, counted from the index alone (人员工作量's
        # waiting and overdue per person, the report's overdue count): ~4 % of the rows.
        sa.Index(
            "ix_inquiry_waiting",
            "submitted_at",
            "intent",
            "province_code",
            "assignee_id",
            sqlite_where=sa.text("status = 'submitted'"),
            postgresql_where=sa.text("status = 'submitted'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=18, sa_column_kwargs={"unique": True})
    company_name: str = Field(max_length=100)
    province_code: str = Field(max_length=6)
    city_code: str | None = Field(default=None, max_length=6)
    district_code: str | None = Field(default=None, max_length=6)
    address_detail: str = Field(max_length=200)
    contact_name: str = Field(max_length=50)
    mobile: str = Field(max_length=32)
    landline: str = Field(max_length=40)
    email: str = Field(max_length=254)
    intent: str = Field(max_length=16)
    other_needs: str | None = Field(default=None, max_length=2000)
    status: str = Field(default=Status.draft, max_length=16)
    owner_id: int = Field(foreign_key="user_account.id")
    assignee_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)
    #: When the contact fields were anonymised (retention purge or a company's request,
    #: ``dashboard.privacy``); None while they hold what the company typed. Migration 0016.
    anonymised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InquiryEvent(SQLModel, table=True):
    __tablename__ = "inquiry_event"
    __table_args__ = (sa.Index("ix_inquiry_event_inquiry_at", "inquiry_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: int = Field(foreign_key="inquiry.id")
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    action: str = Field(max_length=16)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    note: str = Field(default="", max_length=2000)


class DataAccessLog(SQLModel, table=True):
    """Who read or removed personal data, and when (``dashboard.privacy``): every full view of an
    inquiry's contact data and every export with it (the filter and the row count), each written
    in the same transaction as the read that returns the data; every anonymisation, purge and
    deleted draft with its counts. ``inquiry_id`` has no foreign key: the record outlives a
    deleted draft. ``actor_label`` keeps the name (or ``console:<user>``) as it was then;
    migration 0016."""

    __tablename__ = "data_access_log"
    __table_args__ = (
        sa.Index("ix_data_access_log_at", "at"),
        sa.Index("ix_data_access_log_actor_at", "actor_id", "at"),
        sa.Index("ix_data_access_log_inquiry", "inquiry_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    actor_label: str = Field(max_length=100)
    action: str = Field(max_length=16)
    inquiry_id: int | None = Field(default=None)
    serial: str | None = Field(default=None, max_length=18)
    #: The filter of an export (its URL parameters, JSON), or a purge's retention and cutoff.
    filter: str | None = Field(default=None, sa_type=sa.Text)
    row_count: int | None = Field(default=None)
    detail: str = Field(default="", max_length=500)


# Routing (dashboard/routing.py, migration 0015_routing): on submit, an inquiry whose region and
# intent match a rule goes to a member of the rule's team (分配规则).


class RoutingAction(StrEnum):
    """What ``RoutingEvent.action`` records."""

    team_created = "team_created"
    team_deleted = "team_deleted"
    member_added = "member_added"
    member_removed = "member_removed"
    rule_created = "rule_created"
    rule_changed = "rule_changed"
    rule_deleted = "rule_deleted"


ROUTING_ACTION_LABELS: dict[str, str] = {
    "team_created": "新建团队",
    "team_deleted": "删除团队",
    "member_added": "添加成员",
    "member_removed": "移除成员",
    "rule_created": "新增规则",
    "rule_changed": "修改规则",
    "rule_deleted": "删除规则",
}
#: A rule's city or intent that is left open (any city of the province, any intent). Stored as
#: '' rather than NULL so that the unique constraint sees two open rules as the same scope.
ANY = ""


class Team(SQLModel, table=True):
    """A named group of staff and managers that routing rules send inquiries to."""

    __tablename__ = "team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TeamMember(SQLModel, table=True):
    """A member of a team. ``last_assigned_at`` is when the member was last given an inquiry (by
    a rule or by a colleague; kept alike on all of a person's memberships): among members with
    equally few open inquiries, the one waiting longest gets the next."""

    __tablename__ = "team_member"
    __table_args__ = (sa.Index("ix_team_member_user", "user_id"),)

    team_id: int = Field(foreign_key="team.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_assigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RoutingRule(SQLModel, table=True):
    """A province, optionally one of its cities and an intent (``ANY`` when open) → a team. One
    rule per scope; the most specific matching rule wins (``dashboard.routing``)."""

    __tablename__ = "routing_rule"
    # Also the index of the look-up at submit (by province first).
    __table_args__ = (
        sa.UniqueConstraint("province_code", "city_code", "intent", name="uq_routing_rule_scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    province_code: str = Field(max_length=6)
    city_code: str = Field(default=ANY, max_length=6)
    intent: str = Field(default=ANY, max_length=16)
    team_id: int = Field(foreign_key="team.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RoutingEvent(SQLModel, table=True):
    """Audit trail of the routing set-up: who changed which team or rule, and how."""

    __tablename__ = "routing_event"
    __table_args__ = (sa.Index("ix_routing_event_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    action: str = Field(max_length=16)
    detail: str = Field(default="", max_length=500)


# The report rollup (dashboard/rollup.py, migration 0003_report_rollup): kept exact by triggers on
# ``inquiry``; never written by the application itself. ``grain`` d/w/m, ``period`` = the first
# Asia/Shanghai day of the day/week/month; ``province_code`` '*' = the whole country.
_ROLLUP_ARGS = {"sqlite_with_rowid": False}


class ReportCount(SQLModel, table=True):
    __tablename__ = "report_count"
    __table_args__ = (
        sa.Index(
            "ix_report_count_province", "grain", "province_code", "period", "intent", "status", "n"
        ),
        _ROLLUP_ARGS,
    )

    grain: str = Field(primary_key=True, max_length=1)
    period: date = Field(primary_key=True)
    province_code: str = Field(primary_key=True, max_length=6)
    intent: str = Field(primary_key=True, max_length=16)
    status: str = Field(primary_key=True, max_length=16)
    n: int = Field(default=0)


class ReportCity(SQLModel, table=True):
    __tablename__ = "report_city"
    __table_args__ = (_ROLLUP_ARGS,)

    grain: str = Field(primary_key=True, max_length=1)
    province_code: str = Field(primary_key=True, max_length=6)
    period: date = Field(primary_key=True)
    city_code: str = Field(primary_key=True, max_length=6)  # '' for a province without cities
    intent: str = Field(primary_key=True, max_length=16)
    n: int = Field(default=0)


class ReportHours(SQLModel, table=True):
    __tablename__ = "report_hours"
    __table_args__ = (_ROLLUP_ARGS,)

    grain: str = Field(primary_key=True, max_length=1)
    province_code: str = Field(primary_key=True, max_length=6)
    period: date = Field(primary_key=True)
    intent: str = Field(primary_key=True, max_length=16)
    hours: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    n: int = Field(default=0)


class ReportWorkload(SQLModel, table=True):
    """Completed inquiries of the whole country by assignee (0: nobody) and completion-hour
    bucket: 人员工作量."""

    __tablename__ = "report_workload"
    __table_args__ = (_ROLLUP_ARGS,)

    grain: str = Field(primary_key=True, max_length=1)
    period: date = Field(primary_key=True)
    intent: str = Field(primary_key=True, max_length=16)
    assignee: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hours: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    n: int = Field(default=0)


# ---------------------------------------------------------------------------------------------
# The form

#: Unicode categories no text field keeps: controls (Cc), format characters — zero-width, bidi
#: marks and isolates, soft hyphen, tags — (Cf), surrogates (Cs), private use (Co), unassigned
#: (Cn), and line/paragraph separators (Zl, Zp).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
#: Characters of other categories that show as nothing: the combining grapheme joiner, the Hangul
#: fillers and the Khmer inherent vowels (Unicode "default ignorable" code points).
_INVISIBLE_LETTERS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")


def _refused_char(char: str, *, multiline: bool) -> bool:
    if char in "\r\n":
        return not multiline
    category = unicodedata.category(char)
    return (
        category in _REFUSED_CATEGORIES
        or char in _INVISIBLE_LETTERS
        or (category == "Zs" and char != " ")  # after NFKC every ordinary space is U+0020
    )


def text_problem(value: str | None, label: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` may not be stored as the field ``label`` (Chinese), or None.

    Refused, after NFKC (so a no-break or ideographic space is a space): control characters, format
    characters (zero-width, bidi marks, overrides and isolates, soft hyphen, tags), surrogates,
    private use, unassigned code points, separators other than the space, and the few letters that
    show as nothing. ``multiline`` text may have line breaks (``\n``, ``\r\n`` or ``\r``); a tab is
    refused everywhere. The message names the first such character, counted from 1 in ``value``.
    """
    for position, char in enumerate(value or "", start=1):
        if any(_refused_char(c, multiline=multiline) for c in unicodedata.normalize("NFKC", char)):
            return (
                f"{label}包含不可见字符或控制字符（第{position}个字符，U+{ord(char):04X}），"
                "请删除后重试"
            )
    return None


def visible_text(value: str | None) -> str:
    """``value`` (NFKC) without the characters ``text_problem`` refuses, for input that is only
    looked up, never stored (a search term): dropping them is kinder than refusing, and no NUL
    ever reaches PostgreSQL."""
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(c for c in text if not _refused_char(c, multiline=False))


def clean_text(value: str | None) -> str | None:
    """``value`` as stored: NFKC (full-width letters, digits and punctuation become their ASCII
    forms), line breaks as ``\n``, stripped; None when nothing is left."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value).replace("\r\n", "\n").replace("\r", "\n")
    return text.strip() or None


def length_problem(value: str | None, label: str, limit: int) -> str | None:
    """``{label}不能超过{limit}个字符（现有{n}个）`` when ``value`` is longer than ``limit``."""
    if value is not None and len(value) > limit:
        return f"{label}不能超过{limit}个字符（现有{len(value)}个）"
    return None


USERNAME_MAX_LENGTH = 64


def normalize_username(raw: str | None) -> str:
    """A username as stored and compared: NFKC, stripped, lower case (``ＳＴＡＦＦ`` → ``staff``).

    ``str.lower`` rather than ``casefold`` so that it agrees with SQL ``lower()``, which the unique
    index ``ix_user_account_username_lower`` and ``accounts.get_by_username`` use.
    """
    return unicodedata.normalize("NFKC", raw or "").strip().lower()


def username_problem(name: str) -> str | None:
    """Why ``name`` (already normalized) cannot be a username (Chinese), or None."""
    if not name:
        return "请填写用户名"
    if len(name) > USERNAME_MAX_LENGTH:
        return f"用户名不能超过{USERNAME_MAX_LENGTH}个字符（现有{len(name)}个）"
    if any(c.isspace() for c in name):
        return "用户名不能包含空格"
    return text_problem(name, "用户名")


EMAIL_LOCAL_MAX_LENGTH = 64


def normalize_email(raw: str | None) -> str | None:
    """An e-mail address as ``email-validator`` normalizes it (domain lower-cased), or None when
    it is not one. At most 64 characters before the @ (RFC 5321; the library checks that only in
    its strict mode)."""
    text = clean_text(raw)
    if not text or text_problem(text, "") is not None:
        return None
    try:
        return validate_email(text, check_deliverability=False, strict=True).normalized
    except EmailNotValidError:
        return None


def email_problem(raw: str | None, label: str) -> str | None:
    """Why ``raw`` is not an e-mail address (Chinese, naming ``label``), or None. Empty is fine."""
    text = clean_text(raw)
    if not text or normalize_email(text) is not None:
        return None
    local = text.rpartition("@")[0]
    if len(local) > EMAIL_LOCAL_MAX_LENGTH:
        return (
            f"{label}格式不正确（@ 前不能超过{EMAIL_LOCAL_MAX_LENGTH}个字符，现有{len(local)}个）"
        )
    return f"{label}格式不正确"


_PHONE_CHARACTERS = frozenset("0123456789 +-().")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_EXTENSION = re.compile(
    r"^(?P<main>.+?)(?:\s*(?:-|转|分机|ext\.?|x|#)\s*(?P<ext>[0-9]{1,6}))$", re.I
)


def _phone_text(raw: str) -> str:
    """NFKC (full-width digits), stripped, with every kind of dash as ``-``."""
    text = unicodedata.normalize("NFKC", raw).strip()
    return "".join("-" if unicodedata.category(c) == "Pd" else c for c in text)


def _phone_characters_ok(raw: str, *, extension: bool = False) -> bool:
    """Digits, spaces, dashes, dots, brackets and +; with ``extension``, also an extension after
    ``-``, ``转``, ``分机``, ``ext``, ``x`` or ``#``. Nothing else: phonenumbers reads letters as
    the keypad digits under them (``0755-CALL-SHOP`` → ``0755-22557467``), so they are refused."""
    text = _phone_text(raw)
    match = _EXTENSION.match(text) if extension else None
    return all(c in _PHONE_CHARACTERS for c in (match["main"] if match else text))


def normalize_mobile(raw: str) -> str | None:
    """A mainland mobile number as 11 digits, or None when it is not one.

    Accepts full-width digits, spaces, dashes and a +86 / 0086 prefix; nothing else (no letters).
    """
    text = _phone_text(raw)
    if not _phone_characters_ok(text):
        return None
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    national = str(number.national_number)
    if (
        number.country_code != 86
        or number.extension
        or not _MOBILE.fullmatch(national)
        or not phonenumbers.is_valid_number(number)
    ):
        return None
    return national


def normalize_landline(raw: str) -> str | None:
    """A mainland fixed-line number as ``0755-12345678`` (``-123`` for an extension), or None.

    Accepts what a mobile number may have, an area code in brackets and an extension; no letters.
    """
    text = _phone_text(raw)
    if not text or not _phone_characters_ok(text, extension=True):
        return None
    candidates = [(text, None)]
    match = _EXTENSION.match(text)
    if match:
        candidates.append((match["main"], match["ext"]))
    for main, ext in candidates:
        digits_only = re.sub(r"[\s\-()（）]", "", main)
        if not (digits_only.startswith("0") or digits_only.startswith("+86")):
            continue  # the area code is required
        try:
            number = phonenumbers.parse(main, "CN")
        except phonenumbers.NumberParseException:
            continue
        if number.country_code != 86 or not phonenumbers.is_valid_number(number):
            continue
        if phonenumbers.number_type(number) not in (
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            continue
        national = str(number.national_number)
        area_len = phonenumbers.length_of_geographical_area_code(number)
        if area_len == 0:
            continue
        formatted = f"0{national[:area_len]}-{national[area_len:]}"
        extension = ext or number.extension
        return f"{formatted}-{extension}" if extension else formatted
    return None


class InquiryForm(SQLModel):
    """What the entry form holds. Strings are kept as ``clean_text`` makes them (NFKC, stripped,
    ``\n`` line breaks); ``errors()`` validates every rule."""

    company_name: str | None = None
    province_code: str | None = None
    city_code: str | None = None
    district_code: str | None = None
    address_detail: str | None = None
    contact_name: str | None = None
    mobile: str | None = None
    landline: str | None = None
    email: str | None = None
    intent: str | None = Intent.insure.value
    other_needs: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _clean(cls, value: Any) -> Any:
        # Every string as it will be stored (NFKC, stripped): errors() checks that form, so the
        # lengths and characters it judges are the ones that reach the database.
        return clean_text(value) if isinstance(value, str) else value

    def errors(self) -> dict[str, str]:
        """Field → message, for every rule broken; empty when the form may be saved."""
        errs: dict[str, str] = {}
        for field in ("company_name", "address_detail", "contact_name"):
            label = FIELD_LABELS[field]
            problem = self._text_problem(field) if getattr(self, field) else f"请填写{label}"
            if problem:
                errs[field] = problem

        region_error = regions.chain_error(self.province_code, self.city_code, self.district_code)
        if region_error:
            errs["region"] = region_error

        if not self.mobile:
            errs["mobile"] = "请填写联系手机"
        elif problem := self._text_problem("mobile"):
            errs["mobile"] = problem
        elif not _phone_characters_ok(self.mobile):
            errs["mobile"] = (
                "联系手机只能包含数字、空格、短横线和括号（可加 +86 前缀），不能包含字母"
            )
        elif normalize_mobile(self.mobile) is None:
            errs["mobile"] = "联系手机格式不正确（应为11位手机号码，如 13812345678）"

        if not self.landline:
            errs["landline"] = "请填写联系固话"
        elif problem := self._text_problem("landline"):
            errs["landline"] = problem
        elif not _phone_characters_ok(self.landline, extension=True):
            errs["landline"] = (
                "联系固话只能包含数字、空格、短横线和括号，分机号前可写“转”“分机”“ext”“x”或“#”，"
                "不能包含其他字母"
            )
        elif normalize_landline(self.landline) is None:
            errs["landline"] = "联系固话格式不正确（应为区号-号码，如 010-12345678，可加分机号）"

        if not self.email:
            errs["email"] = "请填写联系邮箱"
        elif problem := self._text_problem("email") or email_problem(self.email, "联系邮箱"):
            errs["email"] = problem

        if self.intent not in INTENT_LABELS:
            errs["intent"] = "请选择询保内容"
        if self.other_needs:
            if problem := self._text_problem("other_needs", multiline=True):
                errs["other_needs"] = problem
        elif self.intent == Intent.other:
            errs["other_needs"] = "选择“我有其他需求”时请填写其他需求"
        return errs

    def _text_problem(self, field: str, *, multiline: bool = False) -> str | None:
        """The length, then the characters, of a filled-in text field."""
        value, label = getattr(self, field), FIELD_LABELS[field]
        return length_problem(value, label, MAX_LENGTHS[field]) or text_problem(
            value, label, multiline=multiline
        )

    def normalized_email(self) -> str | None:
        return normalize_email(self.email)

    def clean_values(self) -> dict[str, Any]:
        """The column values to store; call only when ``errors()`` is empty."""
        return {
            "company_name": self.company_name,
            "province_code": self.province_code,
            "city_code": self.city_code,
            "district_code": self.district_code,
            "address_detail": self.address_detail,
            "contact_name": self.contact_name,
            "mobile": normalize_mobile(self.mobile or ""),
            "landline": normalize_landline(self.landline or ""),
            "email": self.normalized_email(),
            "intent": self.intent,
            "other_needs": self.other_needs,
        }

    @classmethod
    def from_inquiry(cls, inquiry: Inquiry) -> InquiryForm:
        return cls(**{name: getattr(inquiry, name) for name in cls.model_fields})
