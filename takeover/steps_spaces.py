"""Spaces with their members and invitations, API keys, and personas: ids kept, since the other
services of the platform store them."""

import json
import re
from typing import Any

from django.db.models import Q

from accounts.models import User
from core.text import normalise_email
from personas.models import ActionResult, Persona, PersonaAction, PersonaFeedback, TickCadence
from spaces.models import ApiKey, Invitation, MemberRole, Membership, Space, SpaceType
from spaces.services import personal_space_create
from spaces.services_api_keys import API_KEY_PREFIX
from takeover.context import Context
from takeover.report import TableReport
from takeover.source import Row

SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")
KEY_HASH = re.compile(r"^[0-9a-f]{64}$")


def space_metadata(value: Any) -> dict[str, Any] | None:
    """A personal space's metadata is a jsonb object; one the old library made is a jsonb string
    holding JSON (encoded twice). Both decode to the object; anything else is None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    if value is None:
        return {}
    return value if isinstance(value, dict) else None


def _space_problem(row: Row, metadata: dict[str, Any] | None, ctx: Context) -> str | None:
    if metadata is None:
        return "its metadata is not a JSON object"
    if metadata.get("type") not in SpaceType.values:
        return f"unknown space type {metadata.get('type')!r}"
    if not row["slug"] or not SLUG.match(row["slug"]):
        return "its slug is missing or not a slug"
    if Space.objects.filter(slug=row["slug"]).exists():
        return "another space here has the same slug"
    if metadata["type"] == SpaceType.PERSONAL:
        if problem := ctx.user_problem(row["owner_id"]):
            return f"a personal space whose owner cannot come: {problem}"
        if Space.objects.filter(personal_owner_id=row["owner_id"]).exists():
            return "its owner has a personal space here already"
    return None


def spaces_import(ctx: Context) -> None:
    def handle(report: TableReport, rows: list[Row]) -> None:
        here = set(Space.objects.filter(pk__in=[row["id"] for row in rows]).values_list("pk", flat=True))
        for row in rows:
            if row["id"] in here:
                report.unchanged += 1
                continue
            metadata = space_metadata(row["metadata"])
            if problem := _space_problem(row, metadata, ctx):
                report.skip(row["id"], problem)
                continue
            assert metadata is not None  # noqa: S101 - _space_problem refused None
            personal = metadata["type"] == SpaceType.PERSONAL
            Space.objects.create(
                id=row["id"],
                name=(row["name"] or row["slug"])[:120],
                slug=row["slug"],
                type=metadata["type"],
                metadata=metadata,
                logo=row["logo"] or "",
                personal_owner_id=row["owner_id"] if personal else None,
                created_at=row["created_at"],
            )
            report.imported += 1

    ctx.each_batch(
        "organizations",
        "SELECT o.id, o.name, o.slug, o.logo, o.metadata, o.created_at, (SELECT m.user_id FROM auth.members m"
        " WHERE m.organization_id = o.id AND m.role = 'owner' ORDER BY m.created_at, m.id LIMIT 1) AS owner_id"
        " FROM auth.organizations o ORDER BY o.created_at, o.id",
        handle,
    )


def members_import(ctx: Context) -> None:
    def handle(report: TableReport, rows: list[Row]) -> None:
        spaces = set(Space.objects.filter(pk__in=[row["organization_id"] for row in rows]).values_list("pk", flat=True))
        pairs = Q(pk__in=[row["id"] for row in rows]) | Q(space_id__in=spaces)
        here = {(space_id, user_id) for space_id, user_id in Membership.objects.filter(pairs).values_list("space_id", "user_id")}
        for row in rows:
            if problem := ctx.user_problem(row["user_id"]):
                report.skip(row["id"], problem)
            elif row["organization_id"] not in spaces:
                report.skip(row["id"], "its space was not imported")
            elif (row["organization_id"], row["user_id"]) in here:
                report.unchanged += 1
            elif row["role"] not in MemberRole.values:
                report.skip(row["id"], f"unknown role {row['role']!r}")
            else:
                Membership.objects.create(
                    id=row["id"], space_id=row["organization_id"], user_id=row["user_id"], role=row["role"], created_at=row["created_at"]
                )
                here.add((row["organization_id"], row["user_id"]))
                report.imported += 1

    ctx.each_batch("members", "SELECT id, organization_id, user_id, role, created_at FROM auth.members ORDER BY created_at, id", handle)


def personal_spaces_complete(ctx: Context) -> None:
    """Every user here has exactly one personal space: one the old service never made is made now."""
    report = ctx.report.table("personal spaces made")
    alive = [user_id for user_id, state in ctx.users.items() if state]
    with_space = set(Space.objects.filter(personal_owner_id__in=alive).values_list("personal_owner_id", flat=True))
    for user in User.objects.filter(pk__in=set(alive) - with_space):
        personal_space_create(user=user)
        report.imported += 1


def invitations_import(ctx: Context) -> None:
    """Pending invitations stay acceptable by their old id; the others are history."""

    def handle(report: TableReport, rows: list[Row]) -> None:
        here = set(Invitation.objects.filter(pk__in=[row["id"] for row in rows]).values_list("pk", flat=True))
        spaces = set(Space.objects.filter(pk__in=[row["organization_id"] for row in rows]).values_list("pk", flat=True))
        for row in rows:
            role = row["role"] or MemberRole.MEMBER
            if row["id"] in here:
                report.unchanged += 1
            elif row["organization_id"] not in spaces:
                report.skip(row["id"], "its space was not imported")
            elif role not in MemberRole.values or row["status"] not in Invitation.Status.values:
                report.skip(row["id"], f"unknown role or status {role!r}/{row['status']!r}")
            else:
                Invitation.objects.create(
                    id=row["id"],
                    space_id=row["organization_id"],
                    email=normalise_email(row["email"]),
                    role=role,
                    status=row["status"],
                    inviter_id=row["inviter_id"] if ctx.users.get(row["inviter_id"]) is not None else None,
                    created_at=row["created_at"],
                    expires_at=row["expires_at"],
                )
                report.imported += 1

    ctx.each_batch(
        "invitations",
        "SELECT id, organization_id, email, role, status, expires_at, inviter_id, created_at FROM auth.invitations ORDER BY created_at, id",
        handle,
    )


def api_keys_import(ctx: Context) -> None:
    """The old `key_hash` is the hex SHA-256 of the whole key, as ours is: the keys keep working."""

    def handle(report: TableReport, rows: list[Row]) -> None:
        here = set(ApiKey.objects.filter(pk__in=[row["id"] for row in rows]).values_list("pk", flat=True))
        for row in rows:
            if problem := ctx.user_problem(row["user_id"]):
                report.skip(row["id"], problem)
            elif row["id"] in here:
                report.unchanged += 1
            elif not KEY_HASH.match(row["key_hash"] or ""):
                report.skip(row["id"], "its key hash is not a hex SHA-256")
            else:
                ApiKey.objects.create(
                    id=row["id"],
                    user_id=row["user_id"],
                    name=(row["name"] or "API key")[:100],
                    prefix=(row["key_prefix"] or "").removeprefix(API_KEY_PREFIX)[:8],
                    key_hash=row["key_hash"],
                    scopes=[str(scope) for scope in row["scopes"]] if isinstance(row["scopes"], list) else [],
                    rate_limit=max(int(row["rate_limit_requests"] or 60), 1),
                    rate_window_seconds=max(int(row["rate_limit_window"] or 60), 1),
                    created_at=row["created_at"],
                    last_used_at=row["last_used_at"],
                    revoked_at=row["revoked_at"],
                )
                report.imported += 1

    ctx.each_batch(
        "api_keys",
        "SELECT id, user_id, name, key_prefix, key_hash, scopes, rate_limit_requests, rate_limit_window, created_at, last_used_at,"
        " revoked_at FROM auth.api_keys ORDER BY created_at, id",
        handle,
    )


def personas_import(ctx: Context) -> None:
    def personas(report: TableReport, rows: list[Row]) -> None:
        here = set(Persona.objects.filter(user_id__in=[row["user_id"] for row in rows]).values_list("user_id", flat=True))
        for row in rows:
            if problem := ctx.user_problem(row["user_id"]):
                report.skip(row["user_id"], problem)
            elif row["user_id"] in here:
                report.unchanged += 1
            elif row["tick_cadence"] not in TickCadence.values:
                report.skip(row["user_id"], f"unknown tick cadence {row['tick_cadence']!r}")
            else:
                Persona.objects.create(
                    user_id=row["user_id"],
                    archetype=row["archetype"][:100],
                    system_prompt=row["system_prompt"],
                    module_mix=row["module_mix"] if isinstance(row["module_mix"], dict) else {},
                    tick_cadence=row["tick_cadence"],
                    last_active_at=row["last_active_at"],
                    created_at=row["created_at"],
                )
                report.imported += 1

    ctx.each_batch(
        "personas",
        "SELECT user_id, archetype, system_prompt, module_mix, tick_cadence, last_active_at, created_at"
        " FROM auth.personas ORDER BY user_id",
        personas,
    )
    positions: dict[tuple[str, str], int] = {}

    def actions(report: TableReport, rows: list[Row]) -> None:
        present = set(Persona.objects.filter(user_id__in=[row["persona_id"] for row in rows]).values_list("user_id", flat=True))
        for row in rows:
            # The old rows carry no position: their order within a tick is it (the replay key).
            key = (row["persona_id"], row["tick_id"])
            position = positions[key] = positions.get(key, -1) + 1
            if row["persona_id"] not in present:
                report.skip(row["id"], "its persona was not imported")
            elif row["result"] not in ActionResult.values:
                report.skip(row["id"], f"unknown result {row['result']!r}")
            elif PersonaAction.objects.filter(persona_id=row["persona_id"], tick_id=row["tick_id"], position=position).exists():
                report.unchanged += 1
            else:
                PersonaAction.objects.create(
                    persona_id=row["persona_id"],
                    tick_id=row["tick_id"],
                    position=position,
                    tool_name=row["tool_name"],
                    input_hash=row["input_hash"] or "",
                    result=row["result"],
                    error_message=row["error_message"] or "",
                    latency_ms=row["latency_ms"],
                    created_at=row["created_at"],
                )
                report.imported += 1

    ctx.each_batch(
        "persona_actions",
        "SELECT id, persona_id, tick_id, tool_name, input_hash, result, error_message, latency_ms, created_at"
        " FROM auth.persona_actions ORDER BY persona_id, tick_id, created_at, id",
        actions,
    )

    def feedback(report: TableReport, rows: list[Row]) -> None:
        present = set(Persona.objects.filter(user_id__in=[row["persona_id"] for row in rows]).values_list("user_id", flat=True))
        for row in rows:
            if row["persona_id"] not in present:
                report.skip(row["id"], "its persona was not imported")
            elif PersonaFeedback.objects.filter(persona_id=row["persona_id"], tick_id=row["tick_id"], module=row["module"]).exists():
                report.unchanged += 1
            elif not 1 <= (row["rating"] or 0) <= 5:
                report.skip(row["id"], "its rating is not 1 to 5")
            else:
                PersonaFeedback.objects.create(
                    persona_id=row["persona_id"],
                    tick_id=row["tick_id"],
                    module=row["module"][:64],
                    rating=row["rating"],
                    notes=row["notes"] or "",
                    created_at=row["created_at"],
                )
                report.imported += 1

    ctx.each_batch(
        "persona_feedback",
        "SELECT id, persona_id, tick_id, module, rating, notes, created_at"
        " FROM auth.persona_feedback ORDER BY persona_id, tick_id, created_at, id",
        feedback,
    )
