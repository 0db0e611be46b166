"""The old service's users and what signs them in: passwords, second factors, live sessions and
signing keys, settings and security history. Each step leaves rows already here as they are, so
a second run changes nothing."""

import base64
import ipaddress
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from accounts.hashers import BetterAuthScryptPasswordHasher
from accounts.jwt import signing_key_import
from accounts.models import Kind, RefreshToken, Role, Session, SigningKey, Tier, TwoFactor, User, UserSettings
from accounts.services.two_factor import two_factor_import
from core.models import SecurityEvent
from core.secrets import token_hash
from core.text import normalise_email
from takeover.context import Context
from takeover.envelope import EnvelopeError
from takeover.report import TableReport
from takeover.source import Row

IMPORTED_ID = "importedId"  # the old id of a history row, kept in its metadata: how a rerun knows it


def ip_or_none(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value).strip())) if value else None
    except ValueError:
        return None


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _user_problem(row: Row, email: str, taken: set[str]) -> str | None:
    if row["role"] not in Role.values:
        return f"unknown role {row['role']!r}"
    if row["access_tier"] not in Tier.values:
        return f"unknown tier {row['access_tier']!r}"
    if row["kind"] not in Kind.values:
        return f"unknown kind {row['kind']!r}"
    if not email or len(email) > 254 or "@" not in email:
        return "the address is not valid"
    if email in taken:
        return "another account here has the same address"
    return None


def users_import(ctx: Context) -> None:
    def handle(report: TableReport, rows: list[Row]) -> None:
        here = set(User.objects.filter(pk__in=[row["id"] for row in rows]).values_list("pk", flat=True))
        emails = {row["id"]: normalise_email(row["email"] or "") for row in rows}
        taken = set(User.objects.filter(email__in=emails.values()).values_list("email", flat=True))
        for row in rows:
            alive = row["deleted_at"] is None
            if row["id"] in here:
                ctx.users[row["id"]] = alive
                report.unchanged += 1
                continue
            email = emails[row["id"]]
            if problem := _user_problem(row, email, taken):
                ctx.users[row["id"]] = None
                report.skip(row["id"], problem)
                continue
            user = User(
                id=row["id"],
                email=email,
                name=(row["name"] or "")[:200],
                image=image if len(image := row["image"] or "") <= 2048 else "",
                email_verified=bool(row["email_verified"]),
                role=row["role"],
                tier=row["access_tier"],
                kind=row["kind"],
                onboarding_completed_at=row["onboarding_completed_at"],
                feedback_show_real_name=bool(row["feedback_show_real_name"]),
                deleted_at=row["deleted_at"],
                is_active=alive,
                created_at=row["created_at"],
            )
            user.set_unusable_password()  # the accounts step brings the password
            user.save(force_insert=True)
            taken.add(email)
            ctx.users[row["id"]] = alive
            report.imported += 1

    ctx.each_batch(
        "users",
        "SELECT id, name, email, email_verified, image, created_at, role, access_tier, kind, deleted_at,"
        " onboarding_completed_at, feedback_show_real_name FROM auth.users ORDER BY created_at, id",
        handle,
    )


def passwords_import(ctx: Context) -> None:
    """The old scrypt hash kept as it is (`better_auth_scrypt$`): the first sign-in re-hashes it."""
    hasher = BetterAuthScryptPasswordHasher()

    def handle(report: TableReport, rows: list[Row]) -> None:
        users = User.objects.in_bulk([row["user_id"] for row in rows])
        for row in rows:
            if row["provider_id"] != "credential":
                report.skip(row["id"], f"sign-in provider {row['provider_id']!r}: this service has none")
                continue
            if problem := ctx.user_problem(row["user_id"]):
                report.skip(row["id"], problem)
                continue
            user = users[row["user_id"]]
            if user.has_usable_password():
                report.unchanged += 1
                continue
            encoded = f"{hasher.algorithm}${row['password'] or ''}"
            try:
                hasher.decode(encoded)
            except ValueError:
                report.skip(row["id"], "the password hash is not in the old service's format")
                continue
            User.objects.filter(pk=user.pk).update(password=encoded)
            report.imported += 1

    ctx.each_batch("accounts", "SELECT id, user_id, provider_id, password FROM auth.accounts ORDER BY created_at, id", handle)


def settings_import(ctx: Context) -> None:
    def handle(report: TableReport, rows: list[Row]) -> None:
        here = set(UserSettings.objects.filter(user_id__in=[row["user_id"] for row in rows]).values_list("user_id", flat=True))
        for row in rows:
            if problem := ctx.user_problem(row["user_id"]):
                report.skip(row["user_id"], problem)
            elif row["user_id"] in here:
                report.unchanged += 1
            else:
                UserSettings.objects.create(
                    user_id=row["user_id"],
                    global_settings=row["global_settings"] or {},
                    app_settings=row["app_overrides"] or {},
                    device_settings=row["device_settings"] or {},
                )
                report.imported += 1

    ctx.each_batch(
        "user_settings", "SELECT user_id, global_settings, app_overrides, device_settings FROM auth.user_settings ORDER BY user_id", handle
    )


def two_factor_import_all(ctx: Context) -> None:
    """TOTP secrets under our keyring, backup codes hashed as ours; on exactly for the users whose
    `two_factor_enabled` is set (the table's own `enabled` column was never written)."""

    def handle(report: TableReport, rows: list[Row]) -> None:
        users = User.objects.in_bulk([row["user_id"] for row in rows])
        here = set(TwoFactor.objects.filter(user_id__in=list(users)).values_list("user_id", flat=True))
        for row in rows:
            if problem := ctx.user_problem(row["user_id"]):
                report.skip(row["id"], problem)
                continue
            if not row["two_factor_enabled"]:
                report.skip(row["id"], "an enrolment never finished: two-factor sign-in stays off")
                continue
            if row["user_id"] in here:
                report.unchanged += 1
                continue
            try:
                secret = ctx.envelope.open_text(row["secret"])
                codes = ctx.envelope.open_json(row["backup_codes"])
            except (EnvelopeError, UnicodeDecodeError, json.JSONDecodeError):
                report.skip(row["id"], "its sealed secret does not open")
                continue
            # The old HMAC key is the secret's UTF-8 bytes; ours is kept as their base32.
            base32 = base64.b32encode(secret.encode()).decode().rstrip("=")
            two_factor_import(user=users[row["user_id"]], secret=base32, backup_codes=[str(code) for code in codes])
            report.imported += 1

    report = ctx.each_batch(
        "two_factor_auth",
        "SELECT t.id, t.user_id, t.secret, t.backup_codes, coalesce(u.two_factor_enabled, false) AS two_factor_enabled"
        " FROM auth.two_factor_auth t JOIN auth.users u ON u.id = t.user_id ORDER BY t.user_id, t.id",
        handle,
    )
    if ctx.source.has_table("two_factor_auth"):
        unsealed = ctx.source.fetch(
            "SELECT u.id FROM auth.users u WHERE u.two_factor_enabled"
            " AND NOT EXISTS (SELECT 1 FROM auth.two_factor_auth t WHERE t.user_id = u.id) ORDER BY u.id"
        )
        for row in unsealed:
            report.skip(row["id"], "two-factor sign-in was on, but no secret was stored: it is off here")


def sessions_import(ctx: Context) -> None:
    """Live sessions under their ids (tokens minted before the switch name them in `sid`); the old
    session token, which clients hold as their refresh token, stored as its hash and rotated at
    its first use."""
    now = timezone.now()

    def handle(report: TableReport, rows: list[Row]) -> None:
        here = set(Session.objects.filter(pk__in=[row["id"] for row in rows]).values_list("pk", flat=True))
        for row in rows:
            if row["expires_at"] <= now:
                report.skip_in_bulk("expired")
            elif problem := ctx.user_problem(row["user_id"]):
                report.skip(row["id"], problem)
            elif row["id"] in here:
                report.unchanged += 1
            else:
                session = Session.objects.create(
                    id=row["id"],
                    user_id=row["user_id"],
                    created_at=row["created_at"],
                    last_seen_at=row["updated_at"] or row["created_at"],
                    expires_at=row["expires_at"],
                    ip_address=ip_or_none(row["ip_address"]),
                    user_agent=(row["user_agent"] or "")[:512],
                )
                RefreshToken.objects.create(session=session, token_hash=token_hash(row["token"]))
                report.imported += 1

    ctx.each_batch(
        "sessions",
        "SELECT id, token, user_id, expires_at, ip_address, user_agent, created_at, updated_at FROM auth.sessions ORDER BY created_at, id",
        handle,
    )


def signing_key_private(ctx: Context, row: Row) -> bytes:
    """The raw Ed25519 private key of a `jwks` row, checked against its public half."""
    jwk = ctx.envelope.open_quoted_json(row["private_key"])
    public = json.loads(row["public_key"]) if isinstance(row["public_key"], str) else row["public_key"]
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("d"), str):
        raise EnvelopeError("not an Ed25519 private key")
    private_raw = _b64url_decode(jwk["d"])
    derived = (
        Ed25519PrivateKey.from_private_bytes(private_raw)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    if derived != _b64url_decode(str(public.get("x", ""))):
        raise EnvelopeError("the private key does not match its public key")
    return private_raw


def signing_keys_import(ctx: Context) -> None:
    """Every old key under its `kid`, verify-only and published, so tokens signed before the
    switch verify here and at every verifier that reads our JWKS."""

    def handle(report: TableReport, rows: list[Row]) -> None:
        here = set(SigningKey.objects.filter(kid__in=[row["id"] for row in rows]).values_list("kid", flat=True))
        for row in rows:
            if row["id"] in here:
                report.unchanged += 1
                continue
            try:
                private_raw = signing_key_private(ctx, row)
            except (EnvelopeError, ValueError, json.JSONDecodeError, UnicodeDecodeError) as exc:
                report.skip(row["id"], f"the key cannot be used: {exc}" if isinstance(exc, EnvelopeError) else "the key cannot be read")
                continue
            signing_key_import(kid=row["id"], private_raw=private_raw, created_at=row["created_at"])
            report.imported += 1

    ctx.each_batch("jwks", "SELECT id, public_key, private_key, created_at FROM auth.jwks ORDER BY created_at, id", handle)


def security_events_import(ctx: Context) -> None:
    def handle(report: TableReport, rows: list[Row]) -> None:
        ids = [str(row["id"]) for row in rows]
        here = set(SecurityEvent.objects.filter(**{f"metadata__{IMPORTED_ID}__in": ids}).values_list(f"metadata__{IMPORTED_ID}", flat=True))
        events = []
        for row in rows:
            if str(row["id"]) in here:
                report.unchanged += 1
                continue
            metadata = row["metadata"] if isinstance(row["metadata"], dict) else {}
            events.append(
                SecurityEvent(
                    user_id=row["user_id"] if ctx.users.get(row["user_id"]) is not None else None,
                    type=str(row["event_type"])[:64],
                    ip_address=ip_or_none(row["ip_address"]),
                    user_agent=(row["user_agent"] or "")[:512],
                    metadata=metadata | {IMPORTED_ID: str(row["id"])},
                    created_at=row["created_at"],
                )
            )
        SecurityEvent.objects.bulk_create(events)
        report.imported += len(events)

    ctx.each_batch(
        "security_events",
        "SELECT id, user_id, event_type, ip_address, user_agent, metadata, created_at FROM auth.security_events ORDER BY created_at, id",
        handle,
    )


def history_dropped(ctx: Context, table: str, reason: str) -> None:
    """A table the import leaves behind on purpose, counted so the report accounts for it."""
    report = ctx.report.table(table)
    if ctx.source.has_table(table):
        report.read = ctx.source.count(table)
        if report.read:
            report.skip_in_bulk(reason, report.read)
