"""Deterministic, realistic demo data: zh_CN companies and contacts, real region codes, intents
and statuses spread over two years with a weekly pattern (busy weekdays, quiet weekends).

Fast enough for a million rows: Faker only fills small pools of names, rows are drawn from the
pools with one seeded ``random.Random``, and rows go in with bulk ``executemany`` inserts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from faker import Faker
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dashboard import accounts, db, regions
from dashboard.inquiries import SHANGHAI, allocate_serials
from models import Inquiry, InquiryEvent, Role, User, normalize_landline

DEMO_PASSWORD = "demo-pass-2026"
DEMO_ACCOUNTS = (
    # username, role, display name, company
    ("company", Role.enterprise, "演示企业用户", "深圳市前海演示进出口贸易有限公司"),
    ("staff", Role.staff, "业务人员小李", None),
    ("manager", Role.manager, "王经理", None),
    ("admin", Role.admin, "系统管理员", None),
)
EXTRA_STAFF = (("staff2", "业务人员小张"), ("staff3", "业务人员小陈"))

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
INTENTS = (("insure", 0.6), ("buyer_credit", 0.3), ("other", 0.1))
OTHER_NEEDS = (
    "希望了解短期出口信用保险的费率和投保流程",
    "咨询海外应收账款的融资便利",
    "想了解中小微企业信保易产品",
    "需要对新买家做资信评估，请联系",
    "询问政治风险的承保范围",
)
STREETS = ("科技园路", "人民路", "建设大道", "解放路", "中山路", "滨江大道", "工业园区", "高新大道")
CHUNK = 20_000
SEED_PASSWORD_HASH = "!seeded-account-no-login"  # not an argon2 hash: login always fails


def _weekly_timestamps(rng: random.Random, n: int, end: datetime) -> list[datetime]:
    """``n`` creation times over the two years before ``end``, sorted, with weekday peaks,
    office hours and a gentle upward trend."""
    start = end - timedelta(days=730)
    span = (end - start).total_seconds()
    day_weight = (1.0, 1.1, 1.1, 1.0, 0.9, 0.25, 0.15)  # Monday … Sunday
    out: list[datetime] = []
    while len(out) < n:
        # Trend: density grows ~60% over the two years (inverse-CDF of a linear density).
        u = rng.random()
        a = 0.6
        frac = (-1 + math.sqrt(1 + a * (2 + a) * u)) / a
        t = start + timedelta(seconds=frac * span)
        local = t.astimezone(SHANGHAI)
        if rng.random() > day_weight[local.weekday()] / 1.1:
            continue
        hour = min(23, max(0, int(rng.gauss(14, 3))))
        local = local.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        t = local.astimezone(UTC)
        if t < end:
            out.append(t)
    out.sort()
    return out


def _landline_formats() -> dict[str, list[tuple[str, int]]]:
    """Per area code, the (2-digit prefix, remaining length) pairs that make valid numbers."""
    out: dict[str, list[tuple[str, int]]] = {}
    for area in set(AREA_CODES.values()):
        out[area] = [
            (str(prefix), rest)
            for prefix in range(20, 90)
            for rest in (5, 6)
            if normalize_landline(f"{area}-{prefix}{'3' * rest}")
            and normalize_landline(f"{area}-{prefix}{'0' * rest}")
            and normalize_landline(f"{area}-{prefix}{'9' * rest}")
        ]
    return out


def _pools(seed: int) -> dict[str, list]:
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


def _ensure_owners(session: Session, count: int, rng: random.Random) -> list[int]:
    """Enterprise accounts that own seeded inquiries (they cannot log in)."""
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


def seed(
    engine: Engine,
    *,
    rows: int,
    seed: int = 2026,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    demo_owner_id: int | None = None,
    demo_company: str | None = None,
) -> int:
    """Add ``rows`` deterministic inquiries (plus their audit events). Returns rows added.

    The same ``seed`` and ``end`` give the same data. ``progress(n)`` is called after each chunk
    with the number of rows just inserted. ``demo_owner_id`` gets a handful of the inquiries.
    """
    rng = random.Random(seed)
    end = end or datetime.now(UTC)
    pools = _pools(seed)
    chains_by_province: dict[str, list] = {}
    for chain in regions.leaf_chains():
        chains_by_province.setdefault(chain[0], []).append(chain)
    provinces = sorted(chains_by_province)
    landline_formats = _landline_formats()
    weights = [PROVINCE_WEIGHTS.get(p, 1) for p in provinces]
    with db.session_scope(engine) as session:
        owners = _ensure_owners(session, max(10, min(5000, rows // 200)), rng)
        handlers = session.exec(
            select(User.id).where(User.role.in_([Role.staff.value, Role.manager.value]))
        ).all()
        actor_id = handlers[0] if handlers else None
        created = _weekly_timestamps(rng, rows, end)
        per_year: dict[int, int] = {}
        for t in created:
            year = t.astimezone(SHANGHAI).year
            per_year[year] = per_year.get(year, 0) + 1
        serials: list[str] = []
        for year in sorted(per_year):
            serials += allocate_serials(session, year=year, count=per_year[year])

    inquiry_table = Inquiry.__table__
    event_table = InquiryEvent.__table__
    companies, people, logins, domains = (
        pools["companies"],
        pools["people"],
        pools["logins"],
        pools["domains"],
    )
    demo_every = max(1, rows // 12) if demo_owner_id else 0
    done = 0
    with engine.connect() as conn:
        first_id = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(inquiry_table.c.id), 0))
        ).scalar_one()
    next_id = first_id + 1
    for chunk_start in range(0, rows, CHUNK):
        inquiry_rows: list[dict] = []
        event_rows: list[dict] = []
        for i in range(chunk_start, min(rows, chunk_start + CHUNK)):
            created_at = created[i]
            age_days = (end - created_at).total_seconds() / 86400
            province = rng.choices(provinces, weights)[0]
            prov, city, dist = rng.choice(chains_by_province[province])
            r = rng.random()
            intent = "insure" if r < 0.6 else "buyer_credit" if r < 0.9 else "other"
            owner = owners[rng.randrange(len(owners))]
            is_demo = bool(demo_every) and i % demo_every == demo_every - 1
            if is_demo:
                owner = demo_owner_id
            # Status: a few drafts are never submitted; older inquiries are mostly completed.
            submitted_at = completed_at = None
            status = "draft"
            if rng.random() > 0.03:
                submitted_at = created_at + timedelta(minutes=rng.randrange(1, 240))
                status = "submitted"
                done_p = 0.97 if age_days > 14 else 0.6 if age_days > 3 else 0.25
                if rng.random() < done_p:
                    hours = min(24 * 30, rng.lognormvariate(math.log(30), 0.9))
                    completed_at = submitted_at + timedelta(hours=hours)
                    if completed_at < end:
                        status = "completed"
                    else:
                        completed_at = None
            for t in (submitted_at,):
                if t is not None and t > end:
                    submitted_at, status, completed_at = None, "draft", None
            person = people[rng.randrange(len(people))]
            company = companies[rng.randrange(len(companies))]
            if rng.random() < 0.5:
                company = regions.name(city or prov)[:-1][:4] + company
            if is_demo and demo_company:
                company = demo_company
            area = AREA_CODES.get(prov, "010")
            prefix, length = rng.choice(landline_formats[area])
            landline = f"{area}-{prefix}{rng.randrange(10**length):0{length}d}"
            inquiry_id = next_id
            next_id += 1
            updated_at = completed_at or submitted_at or created_at
            version = 1 + (status != "draft") + (status == "completed")
            assignee = (
                handlers[rng.randrange(len(handlers))]
                if handlers and status != "draft" and rng.random() < 0.7
                else None
            )
            inquiry_rows.append(
                {
                    "id": inquiry_id,
                    "serial": serials[i],
                    "company_name": company,
                    "province_code": prov,
                    "city_code": city,
                    "district_code": dist,
                    "address_detail": f"{rng.choice(STREETS)}{rng.randrange(1, 999)}号",
                    "contact_name": person,
                    "mobile": f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}",
                    "landline": landline,
                    "email": f"{logins[rng.randrange(len(logins))]}{rng.randrange(100)}@{rng.choice(domains)}",
                    "intent": intent,
                    "other_needs": rng.choice(OTHER_NEEDS) if intent == "other" else None,
                    "status": status,
                    "owner_id": owner,
                    "assignee_id": assignee,
                    "created_at": created_at,
                    "submitted_at": submitted_at,
                    "completed_at": completed_at,
                    "updated_at": updated_at,
                    "version": version,
                }
            )
            event_rows.append(
                {
                    "inquiry_id": inquiry_id,
                    "actor_id": owner,
                    "at": created_at,
                    "action": "created",
                    "from_status": None,
                    "to_status": "draft",
                    "note": "",
                }
            )
            if submitted_at:
                event_rows.append(
                    {
                        "inquiry_id": inquiry_id,
                        "actor_id": owner,
                        "at": submitted_at,
                        "action": "submitted",
                        "from_status": "draft",
                        "to_status": "submitted",
                        "note": "",
                    }
                )
            if completed_at:
                event_rows.append(
                    {
                        "inquiry_id": inquiry_id,
                        "actor_id": assignee or actor_id,
                        "at": completed_at,
                        "action": "completed",
                        "from_status": "submitted",
                        "to_status": "completed",
                        "note": "",
                    }
                )
        with db.session_scope(engine) as session:
            session.execute(sa.insert(inquiry_table), inquiry_rows)
            session.execute(sa.insert(event_table), event_rows)
        done += len(inquiry_rows)
        if progress:
            progress(len(inquiry_rows))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('inquiry', 'id'), "
                    "(SELECT COALESCE(MAX(id), 1) FROM inquiry))"
                )
            )
            conn.execute(sa.text("ANALYZE inquiry"))
            conn.execute(sa.text("ANALYZE inquiry_event"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    return done


def create_demo_accounts(engine: Engine) -> dict[str, User]:
    """The demo accounts of DESIGN.md (password ``demo-pass-2026``), created if missing."""
    out: dict[str, User] = {}
    with db.session_scope(engine) as session:
        for username, role, display, company in DEMO_ACCOUNTS + tuple(
            (u, Role.staff, d, None) for u, d in EXTRA_STAFF
        ):
            user = accounts.get_by_username(session, username)
            if user is None:
                user = accounts.create_user(
                    session,
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role.value,
                    display_name=display,
                    company_name=company,
                    check_password=False,
                )
            out[username] = user
    return out


def ensure_demo(engine: Engine, *, rows: int, seed_value: int = 2026) -> bool:
    """Fill an empty database with the demo accounts and ``rows`` demo inquiries.

    Returns True when it seeded, False when the database already held data.
    """
    if not db.is_empty(engine):
        return False
    users = create_demo_accounts(engine)
    seed(
        engine,
        rows=rows,
        seed=seed_value,
        demo_owner_id=users["company"].id,
        demo_company=users["company"].company_name,
    )
    return True
