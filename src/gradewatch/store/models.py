"""Tables. Changing one means adding an Alembic revision in store/migrations/versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite returns naive ones otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the config's account name
    school: Mapped[str] = mapped_column(String(100))
    system: Mapped[str] = mapped_column(String(40))
    username: Mapped[str] = mapped_column(String(100))
    # ok | needs_attention (wrong password: never retried until the password changes) | paused (locked)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    paused_until: Mapped[datetime | None] = mapped_column(nullable=True)
    bad_password_fp: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_cookies: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # Fernet token
    session_saved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    stored_password: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # Fernet token
    baseline_done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column()
    last_check_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # A lease held by the process checking this account, so two workers on one database never
    # log in as the same student at once. Expires by itself if its holder dies.
    lease_owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    # When this account is next due for a check (None: due now). Kept in the database so that N
    # workers together check each account once per interval.
    next_check_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    # A password POST whose answer is not known yet (written *before* the POST): the fingerprint of
    # the password sent and when. Cleared only by a recognised answer; while set, that password is
    # not sent again (a crash or an unrecognised answer may have been a wrong password).
    login_attempt_fp: Mapped[str | None] = mapped_column(String(64), nullable=True)
    login_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Consecutive failed checks (any cause); 0 after a good one. `status` reads it.
    failed_checks: Mapped[int] = mapped_column(Integer, default=0)
    # Where the account is defined: "config" (the TOML file, synchronised in) or "db" (added with
    # `gradewatch accounts add/import` or the web page).
    source: Mapped[str] = mapped_column(String(10), default="config")
    # For accounts defined in the database: their notification URLs, Fernet-encrypted JSON list.
    notify_urls: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # When the school's timetable (the term's course list) was last read for this account (0005c).
    courses_fetched_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # An account moved up by fast detection: the regular next check it had, kept so that the check
    # after the expedited one keeps the account's own phase (classmates must not fall into step).
    expedited_from: Mapped[datetime | None] = mapped_column(nullable=True)


class CurrentGrade(Base):
    __tablename__ = "grades"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_seen: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class GradeChange(Base):
    __tablename__ = "grade_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    check_id: Mapped[int | None] = mapped_column(ForeignKey("checks.id"), nullable=True)
    key: Mapped[str] = mapped_column(String(300))
    change: Mapped[str] = mapped_column(String(10))  # new | changed | removed
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column()


class OutboxMessage(Base):
    """One notification for one target. The target URL itself (which may hold an SMTP password)
    is not stored: ``target`` is its keyed fingerprint, resolved against the config when sending."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    check_id: Mapped[int | None] = mapped_column(ForeignKey("checks.id"), nullable=True)
    target: Mapped[str] = mapped_column(String(64))
    # The account's channel this message is for (its position/name among the account's notify
    # entries), so a message follows the channel when its URL is edited.
    channel: Mapped[str] = mapped_column(String(100), default="")
    # A long message split for a channel's size limit: part ``part`` of ``parts``, each its own row.
    part: Mapped[int] = mapped_column(Integer, default=1)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    # A worker's claim on the row while it sends; expires by itself if the worker dies.
    claimed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    claim_until: Mapped[datetime | None] = mapped_column(nullable=True)
    kind: Mapped[str] = mapped_column(String(20))  # baseline | update
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # The part's content as data (notify.layout.part_source): rendered again at send time when the
    # channel's URL was edited to another kind meanwhile (its limit or format may differ).
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending|sent|failed|dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Check(Base):
    __tablename__ = "checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str] = mapped_column(String(30), default="running")  # ok | skipped | <error kind>
    message: Mapped[str] = mapped_column(Text, default="")
    logged_in: Mapped[bool] = mapped_column(Boolean, default=False)
    n_grades: Mapped[int] = mapped_column(Integer, default=0)
    n_new: Mapped[int] = mapped_column(Integer, default=0)
    n_changed: Mapped[int] = mapped_column(Integer, default=0)
    n_removed: Mapped[int] = mapped_column(Integer, default=0)
    # Captcha answers the login submitted, and whether the school took the first (None: no captcha) (0006).
    captcha_answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    captcha_first_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class SchoolState(Base):
    """Per-school state shared by every worker on the database: backoff and the request budget."""

    __tablename__ = "school_state"

    school: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive school-side failures
    backoff_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Fixed-window request budget across all workers: requests counted since window_start.
    window_start: Mapped[datetime | None] = mapped_column(nullable=True)
    window_requests: Mapped[int] = mapped_column(Integer, default=0)
    # Fast detection (watch/expedite.py): the school's expedited checks are booked up to this time (0005c).
    expedite_until: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Enrolment(Base):
    """A course an account takes in a term (from the school's timetable/选课 pages or its grades):
    classmates in the same course are checked soon after one of them gets its grade."""

    __tablename__ = "enrolments"
    __table_args__ = (Index("ix_enrolments_course", "school", "term", "course_code"),)

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(String(40), primary_key=True)
    course_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    school: Mapped[str] = mapped_column(String(100), index=True)
    course_name: Mapped[str] = mapped_column(Text, default="")
    seen_at: Mapped[datetime] = mapped_column()


class ChannelState(Base):
    """Health of one notification channel of one account (a permanent refusal needs attention)."""

    __tablename__ = "channel_state"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="ok")  # ok | failing | needs_attention
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SignupAttempt(Base):
    """One real login the web sign-up made at a school (0008). In the database, not in the web
    process: a restart or a second web process must not send a refused password to the school again."""

    __tablename__ = "signup_attempts"
    # One sign-up login per account name at a time, across every web process: a second one in flight
    # is a unique-key conflict, not a second password POST.
    __table_args__ = (Index("ux_signup_attempts_in_flight", "name", unique=True,
                            sqlite_where=text("finished_at IS NULL"), postgresql_where=text("finished_at IS NULL")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), index=True)  # the account name it would be (school.username)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The password's keyed fingerprint (Vault.fingerprint) when the school refused it; never the password.
    refused_fp: Mapped[str | None] = mapped_column(String(64), nullable=True)


class WebSignIn(Base):
    """The sign-out generation of one web identity ("account:NAME" or "admin") (0009). A session
    cookie carries the generation it was made in; signing out moves it on, which ends every copy of
    that cookie in every web process, and a restart does not bring them back."""

    __tablename__ = "web_sign_ins"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class SignInLink(Base):
    """A mailed one-time sign-in link (0009): by its token's keyed fingerprint, never the token."""

    __tablename__ = "sign_in_links"

    token_fp: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class WechatBinding(Base):
    """A WeChat user (openid at the club's 公众号) bound to an account (0009)."""

    __tablename__ = "wechat_bindings"

    openid: Mapped[str] = mapped_column(String(100), primary_key=True)
    account: Mapped[str] = mapped_column(String(100), index=True)


class WechatCode(Base):
    """A live one-time `绑定` code (0009): made on the student's page in one web process, sent to
    `/wechat` which another may answer."""

    __tablename__ = "wechat_codes"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    account: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column()


class WechatReplay(Base):
    """A signed (timestamp, nonce) WeChat sent, and the user it first came with (0010): the signature
    does not cover the body, so the same URL with another FromUserName is refused by every process."""

    __tablename__ = "wechat_replays"

    timestamp: Mapped[str] = mapped_column(String(20), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    from_user: Mapped[str] = mapped_column(String(100))
    seen_at: Mapped[datetime] = mapped_column(index=True)


class WechatBindTry(Base):
    """One `绑定` attempt of a WeChat user (0010): the tries per 10 minutes count in every process."""

    __tablename__ = "wechat_bind_tries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
