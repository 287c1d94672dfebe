"""The web process: ``streamlit run dashboard/server.py``.

Streamlit's ASGI app (``st.App``, Starlette) with routes of our own in front of the Streamlit
script (``app.py``):

- ``GET /healthz``: 200 ``{"status": "ok"}`` when the database answers, else 503 (for the reverse
  proxy and the operator's monitoring);
- ``POST /auth/session``: trades a login's one-time pickup code for the HttpOnly session cookie
  (``dashboard.sessions`` says why a login takes two steps);
- ``POST /auth/logout``: ends the session of the cookie and clears it.

Both POST routes accept only same-origin requests with a JSON body, so another site can neither
log a browser in as someone else nor log it out. Before the first request is served the
database is migrated and, in demo mode, filled, with progress in the terminal; then the
background mail sender (``dashboard.mailer.BackgroundSender``) runs until shutdown.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard import bootstrap, db, faults, mailer, sessions
from dashboard.settings import get_settings

log = logging.getLogger("dashboard.server")


def _say(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def prepare() -> bootstrap.Startup:
    """Migrate, and make the demo database when demo mode applies, saying what it does."""
    _say("Preparing the database (migrations)…")
    started = bootstrap.start(progress=_say)
    if started.demo_active:
        _say("Demo mode: log in as company, staff, manager or admin (password demo-pass-2026).")
    return started


#: What the pages load on their first run, loaded at start-up instead so that it can be frozen.
PAGE_MODULES = (
    "dashboard.charts",
    "dashboard.export",
    "dashboard.queries",
    "dashboard.reports",
    "dashboard.workload",
    "dashboard.views.common",
    "dashboard.views.widgets",
)


def freeze_start_up() -> int:
    """Load what every page needs, then move every object alive now out of the garbage
    collector's reach (``gc.freeze``); returns how many were frozen.

    About 200,000 objects (altair's schema, pandas, SQLAlchemy, the region tables) live as long
    as the process. Each full collection walked all of them: 100–200 ms holding the GIL, which
    every session's clicks waited on. Streamlit's own collection after every run is off
    (``runner.postScriptGC`` in .streamlit/config.toml); this keeps Python's automatic ones
    short too. Frozen objects are never freed: only what lives for the whole process is loaded
    before."""
    for name in PAGE_MODULES:
        importlib.import_module(name)
    from dashboard import regions

    regions.name("110000")  # the region tables load on first use
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@asynccontextmanager
async def lifespan(_app):
    await asyncio.to_thread(prepare)
    frozen = freeze_start_up()
    log.info("start-up objects frozen out of the garbage collector: %d", frozen)
    # The outbox's sender runs beside the app (a thread: smtplib blocks) and stops with it.
    sender = mailer.BackgroundSender.from_settings()
    try:
        yield
    finally:
        if sender is not None:
            # The mail being sent is finished and recorded first, waiting about one SMTP
            # timeout at most (past it the claim runs out and another sender takes the mail).
            await asyncio.to_thread(sender.stop, get_settings().mail_timeout_s + 5)


async def healthz(_request: Request) -> Response:
    if await run_in_threadpool(db.answers):
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable"}, status_code=503)


def same_origin(request: Request) -> bool:
    """The request comes from a page of this site: its ``Origin`` names the host it was sent to.
    Browsers send ``Origin`` with every POST made by a script."""
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    return bool(origin and host) and urlsplit(origin).netloc == host


async def _json_field(request: Request, name: str) -> str | None:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return None
    try:
        body = await request.json()
    except ValueError:
        return None
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _pick_up(pickup: str) -> str | None:
    with db.session_scope() as session:
        return sessions.pick_up(session, pickup)


async def session_cookie(request: Request) -> Response:
    if not same_origin(request):
        return Response(status_code=403)
    pickup = await _json_field(request, "pickup")
    if not pickup:
        return Response(status_code=400)
    try:
        token = await run_in_threadpool(_pick_up, pickup)
    except faults.DATABASE_ERRORS:
        return Response(status_code=503)
    if token is None:
        return Response(status_code=403)
    settings = get_settings()
    response = Response(status_code=204)
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


def _end(token: str | None) -> None:
    with db.session_scope() as session:
        sessions.end_by_token(session, token)


async def logout(request: Request) -> Response:
    if not same_origin(request):
        return Response(status_code=403)
    try:
        await run_in_threadpool(_end, request.cookies.get(sessions.COOKIE))
    except faults.DATABASE_ERRORS:
        return Response(status_code=503)
    response = Response(status_code=204)
    response.delete_cookie(
        sessions.COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_settings().cookie_secure,
    )
    return response


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/auth/session", session_cookie, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
]

app = st.App(Path(__file__).with_name("app.py"), routes=ROUTES, lifespan=lifespan)
