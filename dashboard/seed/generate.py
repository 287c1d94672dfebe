"""The deterministic demo inquiries: zh_CN companies and contacts, real region codes, intents and
statuses spread over two years with a weekly pattern (busy weekdays, quiet weekends).

Fast enough for a million rows: Faker only fills small pools of names, and the rows are drawn from
the pools with one seeded ``random.Random``. The same seed, row count and end time give the same
rows, byte for byte, so every draw below stays in its place: reordering two draws changes the data.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlalchemy as sa
from faker import Faker
from sqlmodel import Session, select

from dashboard import regions, rollup
from dashboard.serials import allocate_serials
from models import Inquiry, Role, User, normalize_landline

if TYPE_CHECKING:
    from dashboard.seed.bulk.base import DayTally

# Export-heavy provinces carry more inquiries (rough weights, by province code).
PROVINCE_WEIGHTS = {
    "440000": 18,
    "330000": 14,
    "320000": 13,
    "370000": 8,
    "310000": 8,
    "350000": 6,
    "110000": 5,
    "120000": 3,
    "210000": 3,
    "340000": 3,
    "420000": 3,
    "430000": 3,
    "510000": 3,
    "500000": 2,
    "410000": 2,
    "130000": 2,
    "360000": 2,
    "450000": 2,
    "610000": 2,
}
# Area codes of each province's capital, for realistic fixed-line numbers.
AREA_CODES = {
    "110000": "010",
    "120000": "022",
    "130000": "0311",
    "140000": "0351",
    "150000": "0471",
    "210000": "024",
    "220000": "0431",
    "230000": "0451",
    "310000": "021",
    "320000": "025",
    "330000": "0571",
    "340000": "0551",
    "350000": "0591",
    "360000": "0791",
    "370000": "0531",
    "410000": "0371",
    "420000": "027",
    "430000": "0731",
    "440000": "020",
    "450000": "0771",
    "460000": "0898",
    "500000": "023",
    "510000": "028",
    "520000": "0851",
    "530000": "0871",
    "540000": "0891",
    "610000": "029",
    "620000": "0931",
    "630000": "0971",
    "640000": "0951",
    "650000": "0991",
}
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
)
OTHER_NEEDS = (
    "希望了解短期出口信用保险的费率和投保流程",
    "咨询海外应收账款的融资便利",
    "想了解中小微企业信保易产品",
    "需要对新买家做资信评估，请联系",
    "询问政治风险的承保范围",
)
STREETS = ("科技园路", "人民路", "建设大道", "解放路", "中山路", "滨江大道", "工业园区", "高新大道")
SEED_PASSWORD_HASH = "!seeded-account-no-login"  # not an argon2 hash: login always fails
SHANGHAI_OFFSET = 8 * 3600  # Asia/Shanghai has had no daylight saving time since 1991
DAY = 86_400
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday
LOG_30 = math.log(30)  # completions take ~30 hours (the median of their lognormal time)


def weekly_timestamps(rng: random.Random, n: int, end: int) -> list[int]:
    """``n`` creation times (UTC epoch seconds) over the two years before ``end``, sorted, with
    weekday peaks, office hours and a gentle upward trend.

    Plain integer arithmetic: Asia/Shanghai is a fixed UTC+8, so the local weekday and hour need
    no time-zone database (that made this loop the slowest part of seeding a million rows).
    """
    start = end - 730 * DAY
    span = end - start
    accept = [w / 1.1 for w in (1.0, 1.1, 1.1, 1.0, 0.9, 0.25, 0.15)]  # Monday … Sunday
    a = 0.6
    k = a * (2 + a)
    random_, gauss, sqrt = rng.random, rng.gauss, math.sqrt
    out: list[int] = []
    append = out.append
    while len(out) < n:
        # Trend: density grows ~60% over the two years (inverse-CDF of a linear density).
        frac = (-1 + sqrt(1 + k * random_())) / a
        local_day = int(start + frac * span + SHANGHAI_OFFSET) // DAY
        if random_() > accept[(local_day + EPOCH_WEEKDAY) % 7]:
            continue
        hour = min(23, max(0, int(gauss(14, 3))))
        t = local_day * DAY - SHANGHAI_OFFSET + hour * 3600 + int(random_() * 3600)
        if t < end:
            append(t)
    out.sort()
    return out


@lru_cache(maxsize=1)
def landline_formats() -> dict[str, tuple[tuple[str, int], ...]]:
    """Per area code, the (2-digit prefix, remaining length) pairs that make valid numbers."""
    out: dict[str, tuple[tuple[str, int], ...]] = {}
    for area in sorted(set(AREA_CODES.values())):
        out[area] = tuple(
            (str(prefix), rest)
            for prefix in range(20, 90)
            for rest in (5, 6)
            if normalize_landline(f"{area}-{prefix}{'3' * rest}")
            and normalize_landline(f"{area}-{prefix}{'0' * rest}")
            and normalize_landline(f"{area}-{prefix}{'9' * rest}")
        )
    return out


@lru_cache(maxsize=4)
def pools(seed: int) -> dict[str, list]:
    """Company names, people, e-mail logins and domains drawn from, made once per seed."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    companies = sorted({fake.company() for _ in range(6000)})
    people = [fake.name() for _ in range(3000)]
    logins = [fake.user_name() for _ in range(3000)]
    domains = [fake.free_email_domain() for _ in range(20)] + [
        "163.com",
        "qq.com",
        "126.com",
        "sina.com",
        "foxmail.com",
    ]
    return {"companies": companies, "people": people, "logins": logins, "domains": domains}


def owner_accounts(session: Session, count: int) -> list[int]:
    """Enterprise accounts that own seeded inquiries (they cannot log in), created if missing."""
    existing = session.exec(
        select(User.id).where(User.username.like("seed-company-%")).order_by(User.id)
    ).all()
    need = count - len(existing)
    if need > 0:
        start = len(existing)
        session.execute(
            sa.insert(User.__table__),
            [
                {
                    "username": f"seed-company-{start + i:05d}",
                    "password_hash": SEED_PASSWORD_HASH,
                    "role": Role.enterprise.value,
                    "company_name": f"演示企业{start + i:05d}",
                    "is_active": True,
                    "failed_logins": 0,
                    "must_change_password": False,
                    "created_at": datetime.now(UTC),
                }
                for i in range(need)
            ],
        )
        existing = session.exec(
            select(User.id).where(User.username.like("seed-company-%")).order_by(User.id)
        ).all()
    return list(existing)


def _serials(session: Session, created: list[int]) -> list[str]:
    """One serial per creation time, allocated per year of creation (Shanghai time)."""
    per_year: dict[int, int] = {}
    for t in created:
        year = datetime.fromtimestamp(t + SHANGHAI_OFFSET, UTC).year
        per_year[year] = per_year.get(year, 0) + 1
    serials: list[str] = []
    for year in sorted(per_year):
        serials += allocate_serials(session, year=year, count=per_year[year])
    return serials


class TimeText:
    """UTC epoch seconds → the text each backend stores or parses, with a per-day cache.

    SQLite: SQLAlchemy's own storage format for ``DateTime`` (naive UTC, with microseconds), so
    that seeded rows compare exactly like rows the app writes. PostgreSQL: ISO text with ``+00``.
    """

    def __init__(self, dialect: str) -> None:
        suffix = ".000000" if dialect == "sqlite" else "+00"
        # Every second of a day as text, made once: a lookup and a concatenation per value
        # instead of formatting three numbers (a million rows have four times in each).
        self.clock = [
            f" {h:02d}:{m:02d}:{s:02d}{suffix}"
            for h in range(24)
            for m in range(60)
            for s in range(60)
        ]
        self.days: dict[int, str] = {}

    def __call__(self, t: int | None) -> str | None:
        if t is None:
            return None
        day, secs = divmod(t, DAY)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        return prefix + self.clock[secs]


class InquiryRows:
    """The rows of one seed, as tuples in the order of ``bulk.INQUIRY_COLUMNS``, made a chunk at a
    time: ``prepare`` reserves what the database must hand out (owners, serials, ids), ``chunk``
    draws the rows."""

    def __init__(
        self,
        rng: random.Random,
        *,
        created: list[int],
        serials: list[str],
        owners: list[int],
        handlers: list[int],
        first_id: int,
        end: int,
        dialect: str,
        pool: dict[str, list],
        demo_owner_id: int | None,
        demo_company: str | None,
    ) -> None:
        self.rng, self.created, self.serials, self.end = rng, created, serials, end
        self.owners, self.handlers, self.first_id = owners, handlers, first_id
        #: Completes the events of inquiries completed without an assignee.
        self.actor_id = handlers[0] if handlers else None
        self.pool = pool
        self.demo_owner_id, self.demo_company = demo_owner_id, demo_company
        self.demo_every = max(1, len(created) // 12) if demo_owner_id else 0
        self.text = TimeText(dialect)
        self.chains_by_province: dict[str, list] = {}
        for chain in regions.leaf_chains():
            prov, city, _ = chain
            # Half the companies carry a place name, e.g. 深圳 + 华为技术有限公司.
            place = regions.name(city or prov)[:-1][:4]
            area = AREA_CODES.get(prov, "010")
            self.chains_by_province.setdefault(prov, []).append((*chain, place, area))
        self.provinces = sorted(self.chains_by_province)
        weights = (PROVINCE_WEIGHTS.get(p, 1) for p in self.provinces)
        self.cum_weights = list(itertools.accumulate(weights))
        self.total_weight = self.cum_weights[-1]

    @classmethod
    def prepare(
        cls,
        session: Session,
        *,
        rows: int,
        seed: int,
        end: int,
        dialect: str,
        demo_owner_id: int | None = None,
        demo_company: str | None = None,
    ) -> InquiryRows:
        """Draw the creation times and reserve the owners, serials and ids of ``rows`` rows."""
        pool = pools(seed)
        # COPY's text format is written without escaping, so the pools must not need any.
        for value in (*itertools.chain(*pool.values()), demo_company or ""):
            if any(ch in value for ch in "\t\n\r\\"):
                raise ValueError(f"seed text needs escaping: {value!r}")
        rng = random.Random(seed)
        owners = owner_accounts(session, max(10, min(5000, rows // 200)))
        handlers = session.exec(
            select(User.id)
            .where(User.role.in_([Role.staff.value, Role.manager.value]))
            .order_by(User.id)
        ).all()
        created = weekly_timestamps(rng, rows, end)
        serials = _serials(session, created)
        first_id = session.execute(
            sa.select(sa.func.coalesce(sa.func.max(Inquiry.__table__.c.id), 0))
        ).scalar_one()
        return cls(
            rng,
            created=created,
            serials=serials,
            owners=list(owners),
            handlers=list(handlers),
            first_id=first_id,
            end=end,
            dialect=dialect,
            pool=pool,
            demo_owner_id=demo_owner_id,
            demo_company=demo_company,
        )

    def _region(self) -> tuple[str, str | None, str | None, str, str]:
        """(province, city, district, place name, area code) of a row: a province by its weight,
        then one of its districts (or cities, or itself, when it has none) evenly."""
        random_ = self.rng.random
        province = self.provinces[bisect.bisect(self.cum_weights, random_() * self.total_weight)]
        chains = self.chains_by_province[province]
        return chains[int(random_() * len(chains))]

    def _lifecycle(self, created_at: int) -> tuple[str, int | None, int | None]:
        """(status, submitted_at, completed_at) of a row created at ``created_at``: a few drafts
        are never submitted; older inquiries are mostly completed. Its draws come right after
        the row's owner."""
        random_, end_ts = self.rng.random, self.end
        age_days = (end_ts - created_at) / DAY
        submitted_at = completed_at = None
        status = "draft"
        if random_() > 0.03:
            submitted_at = created_at + 60 * (1 + int(random_() * 239))
            status = "submitted"
            done_p = 0.97 if age_days > 14 else 0.6 if age_days > 3 else 0.25
            if random_() < done_p:
                hours = min(24 * 30, self.rng.lognormvariate(LOG_30, 0.9))
                completed_at = submitted_at + int(hours * 3600)
                if completed_at < end_ts:
                    status = "completed"
                else:
                    completed_at = None
            if submitted_at > end_ts:
                submitted_at, status, completed_at = None, "draft", None
        return status, submitted_at, completed_at

    def chunk(self, start: int, stop: int, tally: DayTally | None) -> list[tuple]:
        """Rows ``start..stop-1`` of the seed, drawn in that order; ``tally`` (of a bulk load)
        counts the rollup's day rows of those that were submitted.

        One loop on local names, deliberately: it runs a million times, and every lookup through
        ``self`` per row would show in the seed's time; the calls per row are three helpers that
        draw or count one thing each (``_region``, ``_lifecycle``; ``_tally`` in a bulk load).
        """
        created, serials, owners, handlers = self.created, self.serials, self.owners, self.handlers
        text, first_id, region, lifecycle = self.text, self.first_id, self._region, self._lifecycle
        demo_owner_id, demo_company, demo_every = (
            self.demo_owner_id,
            self.demo_company,
            self.demo_every,
        )
        landline_formats_ = landline_formats()
        companies, people, logins, domains = (
            self.pool[name] for name in ("companies", "people", "logins", "domains")
        )
        n_companies, n_people, n_logins, n_domains = map(len, (companies, people, logins, domains))
        n_owners, n_handlers = len(owners), len(handlers)
        n_streets, n_prefixes, n_needs = len(STREETS), len(MOBILE_PREFIXES), len(OTHER_NEEDS)
        random_ = self.rng.random
        batch: list[tuple] = []
        append = batch.append
        for i in range(start, stop):
            created_at = created[i]
            prov, city, dist, place, area = region()
            r = random_()
            intent = "insure" if r < 0.6 else "buyer_credit" if r < 0.9 else "other"
            owner = owners[int(random_() * n_owners)]
            is_demo = bool(demo_every) and i % demo_every == demo_every - 1
            if is_demo:
                owner = demo_owner_id
            status, submitted_at, completed_at = lifecycle(created_at)
            company = companies[int(random_() * n_companies)]
            if random_() < 0.5:
                company = place + company
            if is_demo and demo_company:
                company = demo_company
            formats = landline_formats_[area]
            prefix, length = formats[int(random_() * len(formats))]
            assignee = (
                handlers[int(random_() * n_handlers)]
                if n_handlers and status != "draft" and random_() < 0.7
                else None
            )
            if tally is not None and status != "draft":
                _tally(tally, prov, city, intent, status, submitted_at, completed_at, assignee)
            created_text, submitted_text = text(created_at), text(submitted_at)
            completed_text = text(completed_at)
            append(
                (
                    first_id + i + 1,
                    serials[i],
                    company,
                    prov,
                    city,
                    dist,
                    f"{STREETS[int(random_() * n_streets)]}{1 + int(random_() * 998)}号",
                    people[int(random_() * n_people)],
                    f"{MOBILE_PREFIXES[int(random_() * n_prefixes)]}"
                    f"{int(random_() * 100_000_000):08d}",
                    f"{area}-{prefix}{int(random_() * 10**length):0{length}d}",
                    f"{logins[int(random_() * n_logins)]}{int(random_() * 100)}"
                    f"@{domains[int(random_() * n_domains)]}",
                    intent,
                    OTHER_NEEDS[int(random_() * n_needs)] if intent == "other" else None,
                    status,
                    owner,
                    assignee,
                    created_text,
                    submitted_text,
                    completed_text,
                    completed_text or submitted_text or created_text,  # updated_at
                    1 + (status != "draft") + (status == "completed"),
                    None,  # anonymised_at: demo data is never anonymised when loaded
                )
            )
        return batch


def _tally(
    tally: DayTally,
    prov: str,
    city: str | None,
    intent: str,
    status: str,
    submitted_at: int,
    completed_at: int | None,
    assignee: int | None,
) -> None:
    """Count a submitted row in the rollup's day rows (``seed.bulk.DayTally``), as the triggers
    would: by the Shanghai day of its submission."""
    day = (submitted_at + SHANGHAI_OFFSET) // DAY
    key = (day, prov, intent, status)
    tally.count[key] = tally.count.get(key, 0) + 1
    key = (day, prov, city or "", intent)
    tally.city[key] = tally.city.get(key, 0) + 1
    if status == "completed":
        bucket = rollup.hour_bucket((completed_at - submitted_at) // 3600)
        key = (day, prov, intent, bucket)
        tally.hours[key] = tally.hours.get(key, 0) + 1
        key = (day, intent, assignee or 0, bucket)
        tally.workload[key] = tally.workload.get(key, 0) + 1
