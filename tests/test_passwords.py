"""Password hashing: the chosen argon2id settings, the bound on hashes at once, and old hashes
replaced at the next login."""

from __future__ import annotations

import threading
import time

from argon2 import PasswordHasher

from dashboard import accounts, db, passwords
from tests.conftest import PASSWORD


def test_hashes_use_the_memory_bounded_owasp_setting():
    # Made at import with the shipped settings (the tests swap in a cheap hasher afterwards).
    assert passwords.DUMMY_HASH.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_at_most_hash_slots_hashes_run_at_once(monkeypatch):
    running, peak, lock = 0, 0, threading.Lock()

    class Slow:
        def hash(self, password):
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return "h"

    monkeypatch.setattr(passwords, "_hasher", Slow())
    threads = [threading.Thread(target=passwords.hash_password, args=("x",)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == passwords.HASH_SLOTS


def test_a_hash_made_with_older_settings_is_replaced_at_login(engine, users):
    old = PasswordHasher(time_cost=1, memory_cost=128, parallelism=2).hash(PASSWORD)
    with db.session_scope() as s:
        user = accounts.get_by_username(s, "staff")
        user.password_hash = old
        s.add(user)
    with db.session_scope() as s:
        assert accounts.authenticate(s, username="staff", password=PASSWORD) is not None
    with db.session_scope(write=False) as s:
        new = accounts.get_by_username(s, "staff").password_hash
    assert new != old and not passwords.needs_rehash(new)
    assert passwords.verify_password(new, PASSWORD)
