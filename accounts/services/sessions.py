"""Ending sign-ins: one session, all the others, all of them, or the caller's own.

A credential added with nothing but the session's token (a passkey, an API key) belongs to that
session: revoking the session, or ending every session, removes it too (`core.hooks`). Signing
out of one's own session does not: the credential ends with the next revocation of all of them."""

from django.db import transaction

from accounts.models import RefreshToken, Session, User
from core.errors import ApiError, ErrorCode
from core.hooks import sessions_ended
from core.origin import Origin
from core.secrets import token_hash
from core.services import security_event_record


def session_revoke(*, actor: User, session_id: str, origin: Origin, event: str = "SESSION_REVOKED") -> None:
    """Idempotent: revoking a revoked session succeeds quietly, with no second event."""
    session = Session.objects.filter(pk=session_id, user=actor)
    with transaction.atomic():
        if session.revoke():
            security_event_record(type=event, user_id=actor.id, origin=origin, metadata={"sessionId": session_id})
        elif not session.exists():
            raise ApiError(ErrorCode.NOT_FOUND)
        if event != "LOGOUT":
            sessions_ended(session)


def sessions_revoke_others(*, actor: User, keep: str | None, origin: Origin) -> int:
    """Sign out everywhere but here: one event per session ended. The credentials of sessions
    signed out before go too."""
    ended = 0
    others = Session.objects.filter(user=actor).exclude(pk=keep or "")
    with transaction.atomic():
        for session_id in others.active().values_list("pk", flat=True):
            session_revoke(actor=actor, session_id=session_id, origin=origin)
            ended += 1
        sessions_ended(others)
    return ended


def sessions_revoke_all(*, user: User, keep: str | None = None) -> int:
    """Every live session of the user ends (but `keep`), with no event of its own: the act that
    caused it (a password change or reset, an operator) records one."""
    others = Session.objects.filter(user=user).exclude(pk=keep or "")
    with transaction.atomic():
        sessions_ended(others)
        return others.revoke()


def session_sign_out(*, actor: User | None, session_id: str | None, refresh_token: str | None, origin: Origin) -> None:
    """Sign-out by the access token's session, or else by the refresh token alone."""
    if actor is not None and session_id is not None:
        session_revoke(actor=actor, session_id=session_id, origin=origin, event="LOGOUT")
        return
    if refresh_token:
        row = RefreshToken.objects.select_related("session").filter(token_hash=token_hash(refresh_token)).first()
        if row is not None and Session.objects.filter(pk=row.session_id).revoke():
            security_event_record(type="LOGOUT", user_id=row.session.user_id, origin=origin, metadata={"sessionId": row.session_id})
        return  # an unknown token or a revoked session is signed out already
    raise ApiError(ErrorCode.UNAUTHORIZED)
