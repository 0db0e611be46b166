"""Sessions, token pairs and the end of every sign-in that hands out tokens."""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils import timezone

from accounts import jwt
from accounts.models import DeviceToken, RefreshToken, Session, User
from core.compiled import (
    CompiledQuery,
    Write,
    columns,
    field_names,
    insert_row,
    instances,
    instances_of,
    row_insert,
    row_insert_select,
    row_update,
    write_all,
)
from core.errors import ApiError, ErrorCode
from core.hooks import sessions_ended
from core.origin import Origin
from core.secrets import new_token, token_hash
from core.services import security_event_record

SESSION_LIFETIME = timedelta(days=30)
REFRESH_REUSE_GRACE = timedelta(seconds=10)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    session: Session


@dataclass(frozen=True)
class SignIn:
    user: User
    tokens: TokenPair
    device_token: str
    session_cookie: str  # the opaque handle of the session cookie; only its hash is stored


def _access_claims(user: User, session: Session) -> dict[str, Any]:
    # twoFactorEnabled: the web app's settings toggle reads it from the token (PLATFORM.md §8).
    return {
        "sub": user.id,
        "email": user.email,
        "role": user.role,
        "tier": user.tier,
        "sid": session.id,
        "twoFactorEnabled": user.two_factor_enabled,
    }


def _pair(session: Session, raw_refresh: str) -> TokenPair:
    return TokenPair(jwt.encode_access_token(_access_claims(session.user, session)), raw_refresh, session)


def _token_pair(session: Session) -> tuple[TokenPair, RefreshToken]:
    """A fresh token pair for a live session, and the refresh token's row, not yet written."""
    raw = new_token()
    return _pair(session, raw), RefreshToken(session=session, token_hash=token_hash(raw))


@dataclass(frozen=True)
class Device:
    """How the client names itself at sign-in (the session list shows it)."""

    id: str = ""
    name: str = ""


UNNAMED = Device()


def _new_session(*, user: User, origin: Origin, method: str, device: Device, cookie_hash: str | None) -> Session:
    now = timezone.now()
    return Session(
        cookie_hash=cookie_hash,
        user=user,
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
        ip_address=origin.ip,
        user_agent=origin.user_agent,
        method=method,
        device_id=device.id,
        device_name=device.name,
    )


def session_start(*, user: User, origin: Origin, method: str, device: Device = UNNAMED, cookie_hash: str | None = None) -> TokenPair:
    session = _new_session(user=user, origin=origin, method=method, device=device, cookie_hash=cookie_hash)
    pair, refresh = _token_pair(session)
    write_all(row_insert(session), row_insert(refresh))
    return pair


def session_tokens(session: Session) -> TokenPair:
    """A fresh token pair for a live session (its earlier refresh tokens stay as they are)."""
    pair, refresh = _token_pair(session)
    insert_row(refresh)
    return pair


def session_token_exchange(*, user: User, session_id: str | None, origin: Origin) -> TokenPair:
    """The SSO hand-off: tokens for the browser's own live session (the platform's cookie, or the
    sign-in this service's pages linked their Django session to). A revoked session mints none."""
    session = Session.objects.active().filter(pk=session_id, user=user, expires_at__gt=timezone.now()).first() if session_id else None
    if session is None:
        raise ApiError(ErrorCode.UNAUTHORIZED)
    pair = session_tokens(session)
    security_event_record(type="SSO_TOKEN_EXCHANGE", user_id=user.id, origin=origin, metadata={"sessionId": pair.session.id})
    return pair


def device_token_valid(raw: str | None, user: User | None) -> DeviceToken | None:
    if not raw or user is None:
        return None
    return DeviceToken.objects.active().filter(token_hash=token_hash(raw), user=user).first()


def sign_in_complete(
    *,
    user: User,
    origin: Origin,
    method: str,
    device_token: str | None = None,
    device: DeviceToken | None = None,
    named: Device = UNNAMED,
    resume_session_id: str | None = None,
    along: Sequence[Write] = (),
) -> SignIn:
    """The end of every sign-in that hands out tokens (password, 2FA, magic link, passkey,
    email verification): a session, a token pair and a device token, and one event. `device` is
    the row of `device_token` when the caller has already looked it up. `resume_session_id` names
    a live session of the same user that this sign-in confirms instead of starting another (the
    web app signs in once for its tokens, then again to plant the cookie on that session).
    `along`: the caller's own writes of the sign-in (the lockout's), sent with these."""
    if device is None:
        device = device_token_valid(device_token, user)
    writes = list(along)
    if device is not None and device_token:
        raw_device = device_token
        writes.append(row_update(DeviceToken, device.pk, last_used_at=timezone.now()))
    else:
        raw_device = new_token()
        writes.append(row_insert(DeviceToken(user=user, token_hash=token_hash(raw_device))))
    resumed = (
        Session.objects.active().filter(pk=resume_session_id, user=user, expires_at__gt=timezone.now()).first()
        if resume_session_id
        else None
    )
    # The cookie's handle goes in with the session row.
    raw_cookie = new_token()
    if resumed:
        session = resumed
        writes.append(row_update(Session, session.pk, cookie_hash=token_hash(raw_cookie)))
    else:
        session = _new_session(user=user, origin=origin, method=method, device=named, cookie_hash=token_hash(raw_cookie))
        writes.append(row_insert(session))
    tokens, refresh = _token_pair(session)
    writes.append(row_insert(refresh))
    # Every write of the sign-in goes to its own row: one statement on PostgreSQL.
    security_event_record(
        type="LOGIN_SUCCESS", user_id=user.id, origin=origin, metadata={"method": method, "sessionId": session.id}, along=writes
    )
    return SignIn(user=user, tokens=tokens, device_token=raw_device, session_cookie=raw_cookie)


# The refresh token with its session and user. Only the token's row is locked for the rotation:
# a session revoked or a user deactivated meanwhile fails every later check of what it minted.
_REFRESH_TOKEN_LOCKED = CompiledQuery(
    lambda digest: (
        RefreshToken.objects.select_for_update(of=("self",))
        .filter(token_hash=digest)
        .values_list(*field_names(RefreshToken), *field_names(Session, "session__"), *field_names(User, "session__user__"))
    ),
    "digest",
)


def _refresh_token_locked(digest: str) -> RefreshToken | None:
    row = _REFRESH_TOKEN_LOCKED.first(digest=digest)
    if row is None:
        return None
    refresh, session, session.user = instances(row, RefreshToken, Session, User)
    refresh.session = session
    return refresh


@functools.cache  # built on first use; only PostgreSQL runs it
def _rotation_parts() -> tuple[str, str]:
    """The rotation as one PostgreSQL statement, but its successor's INSERT: the SQL before it and
    after it. The token's UPDATE is the check: it marks the token used only while it is unused,
    its session live and its user active, and its RETURNING feeds the session's touch, the
    successor's INSERT and the read of the session with its user. UPDATE … FROM locks only the
    token's row, as `FOR UPDATE OF self` does; a second use waiting on that lock re-checks
    `used_at IS NULL` on the row the first committed, finds nothing and changes nothing."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name

    def column(model: type[models.Model], name: str) -> str:
        field = cast("models.Field[Any, Any]", model._meta.get_field(name))
        return quote(cast(str, field.column))

    token, session, user = (quote(model._meta.db_table) for model in (RefreshToken, Session, User))
    used_at, session_key, user_key = column(RefreshToken, "used_at"), column(Session, "id"), column(User, "id")
    head = (
        f"WITH used AS (UPDATE {token} SET {used_at} = %s FROM {session} s, {user} u"  # noqa: S608 - names from the models; values are bound
        f" WHERE {token}.{column(RefreshToken, 'token_hash')} = %s AND {token}.{used_at} IS NULL"
        f" AND s.{session_key} = {token}.{column(RefreshToken, 'session')}"
        f" AND s.{column(Session, 'revoked_at')} IS NULL AND s.{column(Session, 'expires_at')} > %s"
        f" AND u.{user_key} = s.{column(Session, 'user')} AND u.{column(User, 'is_active')}"
        f" RETURNING {token}.{column(RefreshToken, 'session')} AS session_id),"
        f" touched AS (UPDATE {session} SET {column(Session, 'last_seen_at')} = %s, {column(Session, 'expires_at')} = %s"
        f" FROM used WHERE {session}.{session_key} = used.session_id RETURNING {session}.*),"
        " successor AS ("
    )
    tail = (
        f") SELECT {columns(Session, 'touched')}, {columns(User, 'u')}"  # noqa: S608 - as above
        f" FROM touched JOIN {user} u ON u.{user_key} = touched.{column(Session, 'user')}"
    )
    return head, tail


def _token_rotated(digest: str, now: datetime) -> TokenPair | None:
    """The whole rotation of a live, unused refresh token in one statement: one round trip where
    the locked read, its writes, the BEGIN and the COMMIT were four. None when the token is not
    one to rotate (unknown, used, its session over, its user inactive): nothing is written then,
    and the locked transaction tells which it is. PostgreSQL only."""
    connection = connections[DEFAULT_DB_ALIAS]
    head, tail = _rotation_parts()
    raw = new_token()
    successor = row_insert_select(RefreshToken(token_hash=token_hash(raw), created_at=now), "used", session="session_id")
    stamp = RefreshToken._meta.get_field("used_at").get_db_prep_save(now, connection)
    expires = Session._meta.get_field("expires_at").get_db_prep_save(now + SESSION_LIFETIME, connection)
    found = instances_of(f"{head}{successor.sql}{tail}", [stamp, digest, stamp, stamp, expires, *successor.params], Session, User)
    if not found:
        return None
    [(session, session.user)] = found
    return _pair(session, raw)


def token_refresh(*, refresh_token: str, origin: Origin) -> TokenPair:
    now = timezone.now()
    digest = token_hash(refresh_token)
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql" and (rotated := _token_rotated(digest, now)):
        return rotated
    reused_session: Session | None = None
    with transaction.atomic():
        row = _refresh_token_locked(digest)
        if row is None or row.session.revoked_at is not None or not row.session.user.is_active:
            # The platform's client tells a network error by words in the message: none here.
            raise ApiError(ErrorCode.TOKEN_INVALID, "Invalid refresh token", status=401)
        session = row.session
        if session.expires_at <= now:
            raise ApiError(ErrorCode.TOKEN_EXPIRED)
        if row.used_at is not None:
            if now - row.used_at <= REFRESH_REUSE_GRACE:
                # A retry of a request whose answer got lost: refuse it, but do not punish it.
                raise ApiError(ErrorCode.TOKEN_INVALID, status=401)
            # A refresh token used twice: whoever holds it is not to be trusted, nor what its
            # session added without a proof.
            Session.objects.filter(pk=session.pk).update(revoked_at=now)
            sessions_ended(Session.objects.filter(pk=session.pk))
            reused_session = session
        else:
            pair, successor = _token_pair(session)
            # The rotation's three writes go to distinct rows: one statement on PostgreSQL.
            write_all(
                row_update(RefreshToken, row.pk, used_at=now),
                row_update(Session, session.pk, last_seen_at=now, expires_at=now + SESSION_LIFETIME),
                row_insert(successor),
            )
    if reused_session is not None:
        security_event_record(
            type="REFRESH_TOKEN_REUSE", user_id=reused_session.user_id, origin=origin, metadata={"sessionId": reused_session.id}
        )
        raise ApiError(ErrorCode.TOKEN_INVALID, status=401)
    return pair


@dataclass(frozen=True)
class TokenCheck:
    valid: bool
    payload: dict[str, Any] | None = None
    reason: str = ""
    session: Session | None = None


# Every token check asks this: the session behind the token, with its user (core/compiled.py).
_SESSION_STATE = CompiledQuery(
    lambda sid, sub: Session.objects.filter(pk=sid, user_id=sub).values_list("revoked_at", "expires_at", "user__is_active"), "sid", "sub"
)
_SESSION_WITH_USER = CompiledQuery(
    lambda sid, sub: Session.objects.filter(pk=sid, user_id=sub).values_list(*field_names(Session), *field_names(User, "user__")),
    "sid",
    "sub",
)


def _session_with_user(session_id: str, user_id: str) -> Session | None:
    row = _SESSION_WITH_USER.first(sid=session_id, sub=user_id)
    if row is None:
        return None
    session, session.user = instances(row, Session, User)
    return session


def access_token_check(token: str, *, load_session: bool = True) -> TokenCheck:
    """Signature, claims, and the session behind the token: revoked or expired sessions fail.
    /validate needs only the verdict (`load_session=False`): three columns, no model instances."""
    try:
        payload = jwt.decode_access_token(token)
    except jwt.TokenExpiredError:
        return TokenCheck(valid=False, reason="expired")
    except jwt.TokenInvalidError:
        return TokenCheck(valid=False, reason="invalid")
    session_id, user_id = payload.get("sid"), payload.get("sub")
    if not isinstance(session_id, str) or not isinstance(user_id, str):
        return TokenCheck(valid=False, reason="revoked")
    session: Session | None = None
    if load_session:
        session = _session_with_user(session_id, user_id)
        state = (session.revoked_at, session.expires_at, session.user.is_active) if session else None
    else:
        state = _SESSION_STATE.first(sid=session_id, sub=user_id)
    if state is None or state[0] is not None or not state[2]:
        return TokenCheck(valid=False, reason="revoked")
    if state[1] <= timezone.now():
        return TokenCheck(valid=False, reason="expired")
    return TokenCheck(valid=True, payload=payload, session=session)
