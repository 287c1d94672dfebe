"""Passwords: argon2id hashing with bounded memory, and the rules a new password must meet."""

from __future__ import annotations

import secrets
import string
import threading
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10

#: Argon2id at OWASP's first recommended setting (19 MiB, 2 passes, 1 lane), a memory-bounded
#: variant of RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes): every login
#: allocates ``memory_cost`` for the duration of a hash, and argon2-cffi's default of 64 MiB made
#: ten logins at once cost 640 MB. Hashes made with other settings still verify and are replaced
#: at the next successful login (``check_needs_rehash``).
HASH_TIME_COST = 2
HASH_MEMORY_KIB = 19 * 1024
HASH_PARALLELISM = 1
#: Hashes computed at once per process; further logins wait their turn, so memory stays below
#: ``HASH_SLOTS * HASH_MEMORY_KIB`` (76 MiB) whatever the burst.
HASH_SLOTS = 4
_hashing = threading.BoundedSemaphore(HASH_SLOTS)
_hasher = PasswordHasher(
    time_cost=HASH_TIME_COST, memory_cost=HASH_MEMORY_KIB, parallelism=HASH_PARALLELISM
)
# Verified against when the user does not exist, so that both paths cost the same.
DUMMY_HASH = _hasher.hash("no-such-user-dummy-password")


def hash_password(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        with _hashing:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
_GENERATED_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower-case), read once."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, username: str | None = None) -> str | None:
    """Why a new password is refused (Chinese), or None.

    Too short, one of the common passwords (also with a trailing digit/punctuation run), the same
    character repeated, or the username itself.
    """
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少需要{MIN_PASSWORD_LENGTH}个字符"
    if len(password) > 256:
        return "密码不能超过256个字符"
    lowered = password.lower()
    stripped = lowered.rstrip(string.digits + string.punctuation)
    common = common_passwords()
    if lowered in common or (len(stripped) >= 4 and stripped in common) or len(set(lowered)) < 3:
        return "该密码过于常见，容易被猜中，请换一个"
    if username and len(username.strip()) >= 4 and username.strip().lower() in lowered:
        return "密码不能包含用户名"
    return None


def generate_password() -> str:
    """A random one-time password (16 characters, no look-alike characters)."""
    while True:
        candidate = "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(16))
        if password_problem(candidate) is None:
            return candidate


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other settings (replace it at the next login)."""
    return _hasher.check_needs_rehash(password_hash)
