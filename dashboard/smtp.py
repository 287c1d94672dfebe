"""SMTP for the outbox's delivery (``dashboard.mailer``): the settings
(``DASHBOARD_SMTP_URL``, ``DASHBOARD_MAIL_FROM``), one session per batch, and what a server's
refusal means (permanent or worth a retry). Knows nothing of the outbox table."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import models
from dashboard.notify import one_line
from dashboard.settings import Settings


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send, from ``DASHBOARD_SMTP_URL`` and ``DASHBOARD_MAIL_FROM``."""

    host: str
    port: int
    tls: bool  # smtps://: TLS from the first byte
    starttls: bool  # ?starttls=1: a plain connection upgraded
    username: str | None
    password: str | None
    sender: Address
    timeout: float


_TRUE = {"1", "true", "yes", "on"}
NOT_CONFIGURED = (
    "未配置邮件服务器（DASHBOARD_SMTP_URL 和 DASHBOARD_MAIL_FROM）：邮件留在发件箱中，不会发送"
)


def smtp_config(settings: Settings) -> tuple[SmtpConfig | None, str | None]:
    """The SMTP configuration, or None and why (Chinese; never the password)."""
    url = settings.smtp_url.get_secret_value().strip() if settings.smtp_url else ""
    if not url or not (settings.mail_from or "").strip():
        return None, NOT_CONFIGURED
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, "DASHBOARD_SMTP_URL 格式不正确"
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        return None, "DASHBOARD_SMTP_URL 应为 smtp://用户名:密码@主机:端口（或 smtps://）"
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    tls = parts.scheme == "smtps"
    starttls = not tls and query.get("starttls", "") in _TRUE
    if models.text_problem(settings.mail_from, "") is not None:  # CR/LF: a header of its own
        return None, "DASHBOARD_MAIL_FROM 不是有效的邮箱地址"
    name, address = parseaddr(settings.mail_from or "")
    normalized = models.normalize_email(address)
    if normalized is None:
        return None, "DASHBOARD_MAIL_FROM 不是有效的邮箱地址"
    try:
        sender = Address(display_name=one_line(name, 64), addr_spec=normalized)
    except (ValueError, IndexError):
        return None, "DASHBOARD_MAIL_FROM 不是有效的邮箱地址"
    return (
        SmtpConfig(
            host=parts.hostname,
            port=port or (465 if tls else 587 if starttls else 25),
            tls=tls,
            starttls=starttls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=sender,
            timeout=float(settings.mail_timeout_s),
        ),
        None,
    )


class Unreachable(Exception):
    """The SMTP server cannot be reached or refuses the session: nothing of this batch goes out."""


def _reply(err: smtplib.SMTPResponseException) -> str:
    text = err.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{err.smtp_code} {text}".strip()


class Connection:
    """One SMTP session for a batch, opened at the first mail."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self.client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        try:
            if c.tls:
                client = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        except (OSError, smtplib.SMTPException) as err:
            raise Unreachable(f"无法连接邮件服务器 {c.host}:{c.port}：{err}") from err
        try:
            client.ehlo()
            if c.starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if c.username:
                client.login(c.username, c.password or "")
        except smtplib.SMTPAuthenticationError as err:
            client.close()
            raise Unreachable(f"邮件服务器认证失败：{_reply(err)}") from err
        except (OSError, smtplib.SMTPException) as err:
            client.close()
            raise Unreachable(f"邮件服务器拒绝会话：{err}") from err
        return client

    def send(self, msg: EmailMessage, recipient: str) -> None:
        if self.client is None:
            self.client = self._connect()
        try:
            # The envelope names the one recipient: no header of the message can add another.
            self.client.send_message(
                msg, from_addr=self.config.sender.addr_spec, to_addrs=[recipient]
            )
        except smtplib.SMTPServerDisconnected as err:
            self.close()
            raise Unreachable(f"与邮件服务器的连接中断：{err}") from err
        except smtplib.SMTPException:
            raise  # a reply about this mail (smtplib's errors are OSErrors too)
        except OSError as err:
            self.close()
            raise Unreachable(f"与邮件服务器的连接中断：{err}") from err

    def close(self) -> None:
        if self.client is None:
            return
        client, self.client = self.client, None
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def refusal(err: smtplib.SMTPException) -> tuple[bool, str]:
    """(permanent?, message) for a mail the server refused; 5xx replies are final."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(err.recipients.values()), (0, b""))
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return code >= 500, f"收件人被拒绝：{code} {text}"
    if isinstance(err, smtplib.SMTPResponseException):
        return err.smtp_code >= 500, f"邮件服务器拒收：{_reply(err)}"
    if isinstance(err, smtplib.SMTPNotSupportedError):  # e.g. SMTPUTF8 needed, not offered
        return True, f"邮件服务器不支持：{err}"
    return False, f"发送失败：{err}"
