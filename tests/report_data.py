"""Inquiries of many kinds for the report tests (test_drill, test_report_file), made through the
lifecycle (``inquiries.submit``) and then placed: random day (a third a second before, at or after
a Shanghai midnight), intent, province and city, status, completion time, assignee. Drafts too,
which no report counts."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from dashboard import db, inquiries, regions
from models import INTENT_LABELS, Inquiry
from tests.conftest import valid_form

PROVINCES = ("440000", "320000", "110000", "330000")


def _submitted_at(rng: random.Random, first_day: date, days: int) -> datetime:
    day = first_day + timedelta(days=rng.randrange(days))
    midnight = datetime(day.year, day.month, day.day, 16, tzinfo=UTC) - timedelta(days=1)
    if rng.random() < 0.33:
        return midnight + timedelta(seconds=rng.choice([-1, 0, 1]))
    return midnight + timedelta(seconds=rng.randrange(86_400))


def make_inquiries(
    users, *, n: int, first_day: date, days: int, assignees: list, seed: int = 7
) -> None:
    """``n`` submitted or completed inquiries over ``days`` days from ``first_day``, assigned
    at random to one of ``assignees`` (user ids, None for nobody), and 5 drafts."""
    rng = random.Random(seed)
    with db.session_scope() as s:
        for _ in range(n):
            intent = rng.choice(list(INTENT_LABELS))
            province = rng.choice(PROVINCES)
            cities = regions.cities(province)
            city = rng.choice(cities).code if cities else None
            extra = {"other_needs": "保函"} if intent == "other" else {}
            inq = inquiries.submit(
                s, actor=users["company"], form=valid_form(intent=intent, **extra)
            )
            s.flush()
            submitted = _submitted_at(rng, first_day, days)
            done = rng.random() < 0.6
            completed = submitted + timedelta(hours=rng.randrange(1, 200)) if done else None
            s.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == inq.id)
                .values(
                    province_code=province,
                    city_code=city,
                    district_code=None,
                    status="completed" if done else "submitted",
                    submitted_at=submitted,
                    completed_at=completed,
                    assignee_id=rng.choice(assignees),
                )
            )
        for _ in range(5):
            inquiries.save_draft(s, actor=users["company"], form=valid_form())
