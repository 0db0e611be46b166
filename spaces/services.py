"""Spaces, members and invitations (API keys: services_api_keys). Every rule about who may do
what lives here: a non-member gets NOT_FOUND (the space's existence is not leaked), a member
without the right gets FORBIDDEN."""

import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Session, Tier, User
from core import ratelimit
from core.errors import ApiError, ErrorCode
from core.origin import Origin
from core.ratelimit import Limit
from core.secrets import token_hash
from core.services import security_event_record
from core.text import normalise_email
from mail.services import mail_enqueue
from spaces.models import ApiKey, Invitation, MemberRole, Membership, Space, SpaceType

RESERVED_SLUGS = frozenset(
    [
        "me",
        "admin",
        "api",
        "auth",
        "login",
        "logout",
        "signup",
        "signin",
        "register",
        "settings",
        "new",
        "app",
        "www",
        "support",
        "help",
        "billing",
        "invite",
    ]
)
SLUG_BASE_MAX = 30
INVITATION_LIFETIME = timedelta(days=7)
# Invitation mail: per space, per inviter, per invited address (the last stops a mail bomb).
INVITATION_SPACE_LIMIT = Limit("invitation-space", 20, 3600)
INVITATION_INVITER_LIMIT = Limit("invitation-inviter", 20, 3600)
INVITATION_RECIPIENT_LIMIT = Limit("invitation-recipient", 3, 3600)


# --- slugs --------------------------------------------------------------------------------------
def slug_base(text: str) -> str:
    """Lower-cased, runs of anything but a-z0-9- folded to one '-', trimmed, at most 30 chars."""
    base = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    base = re.sub(r"-{2,}", "-", base).strip("-")[:SLUG_BASE_MAX].strip("-")
    return base or f"user-{secrets.token_hex(3)}"


def personal_slug() -> str:
    return f"personal-{secrets.token_hex(6)}"


def _free_slug(base: str) -> str:
    taken = set(Space.objects.filter(Q(slug=base) | Q(slug__startswith=f"{base}-")).values_list("slug", flat=True))
    if base not in taken and base not in RESERVED_SLUGS:
        return base
    for number in range(2, 1000):
        candidate = f"{base}-{number}"
        if candidate not in taken:
            return candidate
    return f"{base}-{secrets.token_hex(3)}"


def _insert_with_free_slug(space: Space, base: str) -> Space:
    """Insert under the first free slug; a concurrent insert that took it makes us try the next."""
    for _ in range(5):
        space.slug = _free_slug(base)
        try:
            with transaction.atomic():
                space.save(force_insert=True)
            return space
        except IntegrityError:
            if not Space.objects.filter(slug=space.slug).exists():
                raise  # some other constraint: not ours to retry
    space.slug = f"{base}-{secrets.token_hex(4)}"
    space.save(force_insert=True)
    return space


# --- metadata -----------------------------------------------------------------------------------
def _validated_metadata(metadata: Any, space_type: str, *, stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """The members' metadata. `tier` is the operators' (the web app derives the effective tier
    from it): what members send is dropped and the stored value kept, so a client that writes
    back what it read keeps working."""
    if metadata is None:
        metadata = {"type": space_type}
    if not isinstance(metadata, dict):
        raise ApiError(ErrorCode.SPACE_METADATA_INVALID, "Space metadata must be an object.")
    if metadata.get("type") != space_type:
        raise ApiError(ErrorCode.SPACE_METADATA_INVALID, "metadata.type must name the space's type.")
    checked = {key: value for key, value in metadata.items() if key != "tier"}
    if stored and stored.get("tier") in Tier.values:
        checked["tier"] = stored["tier"]
    return checked


# --- the personal space ---------------------------------------------------------------------------
def personal_space_create(*, user: User) -> Space:
    """Called inside the registration transaction: its failure fails the registration. The slug
    says nothing about the address: a slug made from it would let `POST /spaces {slug}` probe
    which addresses have accounts."""
    local_part = user.email.partition("@")[0]
    space = Space(
        name=user.name or local_part or "Personal", type=SpaceType.PERSONAL, personal_owner=user, metadata={"type": SpaceType.PERSONAL}
    )
    _insert_with_free_slug(space, personal_slug())
    Membership.objects.create(space=space, user=user, role=MemberRole.OWNER)
    return space


# --- membership checks ----------------------------------------------------------------------------
def membership_of(actor: User, space_id: str) -> Membership:
    """The actor's membership, or NOT_FOUND: a stranger learns nothing about the space."""
    membership = Membership.objects.select_related("space").filter(space_id=space_id, user=actor).first()
    if membership is None:
        raise ApiError(ErrorCode.NOT_FOUND)
    return membership


def _require_role(membership: Membership, *roles: str) -> None:
    if membership.role not in roles:
        raise ApiError(ErrorCode.FORBIDDEN)


def _owner_count(space: Space) -> int:
    return Membership.objects.filter(space=space, role=MemberRole.OWNER).count()


def active_membership_of(*, actor: User, session_id: str | None) -> Membership:
    """The actor's membership in the space the session chose with `space_activate`. A space the
    actor has left since is no longer active."""
    active = Session.objects.filter(pk=session_id, user=actor).values_list("active_space_id", flat=True).first()
    membership = Membership.objects.select_related("space", "user").filter(space_id=active, user=actor).first() if active else None
    if membership is None:
        raise ApiError(ErrorCode.NO_ACTIVE_ORGANIZATION)
    return membership


def membership_in(*, actor: User, session_id: str | None, space_id: str | None) -> Membership:
    """The organization API names a space, or means the session's active one when it names none."""
    return membership_of(actor, space_id) if space_id else active_membership_of(actor=actor, session_id=session_id)


# --- spaces -------------------------------------------------------------------------------------
def space_create(*, actor: User, name: str, space_type: str, slug: str | None, metadata: Any, origin: Origin, logo: str = "") -> Membership:
    if space_type == SpaceType.PERSONAL:
        raise ApiError(ErrorCode.VALIDATION, fields={"type": ["A personal space is created with the account."]})
    checked = _validated_metadata(metadata, space_type)
    with transaction.atomic():
        space = Space(name=name, type=space_type, metadata=checked, logo=logo)
        if slug:
            if slug in RESERVED_SLUGS or Space.objects.filter(slug=slug).exists():
                raise ApiError(ErrorCode.VALIDATION, fields={"slug": ["This slug is taken."]})
            space.slug = slug
            space.save(force_insert=True)
        else:
            _insert_with_free_slug(space, slug_base(name))
        membership = Membership.objects.create(space=space, user=actor, role=MemberRole.OWNER)
        security_event_record(type="SPACE_CREATED", user_id=actor.id, origin=origin, metadata={"spaceId": space.id, "type": space_type})
    return membership


def space_create_active(
    *, actor: User, session_id: str | None, name: str, slug: str | None, logo: str, metadata: Any, origin: Origin
) -> Membership:
    """The organization API's create: the type rides in `metadata.type`, and the new space
    becomes the session's active one."""
    space_type = metadata.get("type") if isinstance(metadata, dict) else None
    if space_type not in SpaceType.values or space_type == SpaceType.PERSONAL:
        creatable = ", ".join(value for value in SpaceType.values if value != SpaceType.PERSONAL)
        raise ApiError(ErrorCode.SPACE_METADATA_INVALID, f"metadata.type must be one of {creatable}.")
    with transaction.atomic():
        membership = space_create(actor=actor, name=name, space_type=space_type, slug=slug, metadata=metadata, logo=logo, origin=origin)
        space_activate(actor=actor, session_id=session_id, space_id=membership.space_id, origin=origin)
    return membership


def space_activate(*, actor: User, session_id: str | None, space_id: str | None, origin: Origin) -> Membership | None:
    """Stores the session's active space for later requests; None clears it. Only a member may
    choose a space (the organization API answers 403 there, PLATFORM.md §4)."""
    membership = None
    if space_id is not None:
        membership = Membership.objects.select_related("space", "user").filter(space_id=space_id, user=actor).first()
        if membership is None:
            raise ApiError(ErrorCode.FORBIDDEN, "You are not a member of this space.")
    if not Session.objects.filter(pk=session_id, user=actor).update(active_space_id=space_id or ""):
        raise ApiError(ErrorCode.UNAUTHORIZED)
    return membership


def space_update(*, actor: User, space_id: str, changes: dict[str, Any], origin: Origin) -> Membership:
    with transaction.atomic():
        membership = membership_of(actor, space_id)
        _require_role(membership, MemberRole.OWNER, MemberRole.ADMIN)
        space = membership.space
        if "type" in changes and changes["type"] != space.type:
            raise ApiError(ErrorCode.SPACE_METADATA_INVALID, "The type of a space cannot change.")
        if "metadata" in changes:
            metadata = changes["metadata"]
            # The type is fixed: naming another is refused, leaving it out keeps it.
            if isinstance(metadata, dict) and "type" not in metadata:
                metadata = {**metadata, "type": space.type}
            space.metadata = _validated_metadata(metadata, space.type, stored=space.metadata)
        if "name" in changes:
            space.name = changes["name"]
        if changes.get("slug") and changes["slug"] != space.slug:
            if changes["slug"] in RESERVED_SLUGS or Space.objects.filter(slug=changes["slug"]).exists():
                raise ApiError(ErrorCode.VALIDATION, fields={"slug": ["This slug is taken."]})
            space.slug = changes["slug"]
        space.save()
    return membership


def space_delete(*, actor: User, space_id: str, origin: Origin) -> None:
    with transaction.atomic():
        membership = membership_of(actor, space_id)
        if membership.space.type == SpaceType.PERSONAL:
            raise ApiError(ErrorCode.SPACE_PERSONAL_UNDELETABLE)
        _require_role(membership, MemberRole.OWNER)
        membership.space.delete()
        security_event_record(type="SPACE_DELETED", user_id=actor.id, origin=origin, metadata={"spaceId": space_id})


# --- members --------------------------------------------------------------------------------------
def member_role_change(*, actor: User, space_id: str, member_id: str, role: str, origin: Origin) -> Membership:
    with transaction.atomic():
        mine = membership_of(actor, space_id)
        _require_role(mine, MemberRole.OWNER)
        target = Membership.objects.select_for_update().filter(pk=member_id, space_id=space_id).first()
        if target is None:
            raise ApiError(ErrorCode.NOT_FOUND)
        if target.role == MemberRole.OWNER and role != MemberRole.OWNER and _owner_count(mine.space) <= 1:
            raise ApiError(ErrorCode.FORBIDDEN, "The last owner cannot be demoted.")
        target.role = role
        target.save(update_fields=["role"])
        security_event_record(
            type="ROLE_CHANGED",
            user_id=actor.id,
            origin=origin,
            metadata={"spaceId": space_id, "memberUserId": target.user_id, "role": role},
        )
    return target


def member_remove(*, actor: User, space_id: str, member_id: str, origin: Origin) -> None:
    with transaction.atomic():
        mine = membership_of(actor, space_id)
        target = Membership.objects.select_for_update().filter(pk=member_id, space_id=space_id).first()
        if target is None:
            raise ApiError(ErrorCode.NOT_FOUND)
        if mine.space.type == SpaceType.PERSONAL:
            raise ApiError(ErrorCode.FORBIDDEN, "Nobody leaves a personal space.")
        leaving = target.user_id == actor.id
        if not leaving:
            # Owners remove anyone; admins remove members and admins, never owners.
            _require_role(mine, MemberRole.OWNER, MemberRole.ADMIN)
            if target.role == MemberRole.OWNER and mine.role != MemberRole.OWNER:
                raise ApiError(ErrorCode.FORBIDDEN)
        if target.role == MemberRole.OWNER and _owner_count(mine.space) <= 1:
            raise ApiError(ErrorCode.FORBIDDEN, "The last owner cannot leave.")
        target.delete()
        # A key bound to the space works only while its owner is a member.
        ApiKey.objects.filter(user_id=target.user_id, space_id=space_id).revoke()
        security_event_record(
            type="MEMBER_REMOVED", user_id=actor.id, origin=origin, metadata={"spaceId": space_id, "memberUserId": target.user_id}
        )


def member_remove_by_reference(*, actor: User, space_id: str, reference: str, origin: Origin) -> Membership:
    """The organization API names the member by member id, user id or email; the rules are
    member_remove's. Answers the membership as it was."""
    with transaction.atomic():
        membership_of(actor, space_id)
        named = Q(pk=reference) | Q(user_id=reference) | Q(user__email=normalise_email(reference))
        target = Membership.objects.select_related("user").filter(named, space_id=space_id).first()
        if target is None:
            raise ApiError(ErrorCode.NOT_FOUND)
        member_remove(actor=actor, space_id=space_id, member_id=target.pk, origin=origin)
    return target


# --- invitations ----------------------------------------------------------------------------------
def invitation_create(*, actor: User, space_id: str, email: str, role: str, origin: Origin) -> Invitation:
    with transaction.atomic():
        mine = membership_of(actor, space_id)
        _require_role(mine, MemberRole.OWNER, MemberRole.ADMIN)
        if mine.space.type == SpaceType.PERSONAL:
            raise ApiError(ErrorCode.FORBIDDEN, "A personal space has no other members.")
        if role == MemberRole.OWNER and mine.role != MemberRole.OWNER:
            raise ApiError(ErrorCode.FORBIDDEN)
        email = normalise_email(email)
        ratelimit.enforce(INVITATION_SPACE_LIMIT, space_id)
        ratelimit.enforce(INVITATION_INVITER_LIMIT, actor.id)
        ratelimit.enforce(INVITATION_RECIPIENT_LIMIT, email)
        invitation = Invitation.objects.create(
            space=mine.space,
            email=email,
            role=role,
            inviter=actor,
            expires_at=timezone.now() + INVITATION_LIFETIME,
        )
        invitee = User.objects.filter(email=invitation.email).first()
        mail_enqueue(
            template="space_invitation",
            recipient=invitation.email,
            user=invitee,
            language=invitee.locale if invitee else actor.locale,
            context={
                "inviter": actor.name or actor.email,
                "space": mine.space.name,
                # The web app's page; the id is no secret: only the invitee, signed in, may use it.
                "link": f"{settings.WEB_APP_URL}/accept-invitation?id={invitation.id}",
            },
        )
        security_event_record(
            type="MEMBER_INVITED",
            user_id=actor.id,
            origin=origin,
            metadata={"spaceId": space_id, "invitationId": invitation.id, "role": role},
        )
    return invitation


def _invitee_invitation(actor: User, reference: str, *, lock: bool) -> Invitation:
    """The invitation sent to the actor's verified address, by its id or by the token of a link
    mailed before links carried the id. Anyone else learns nothing."""
    # Only the invitation row is locked: the joined inviter and owner may be absent (outer joins).
    invitations = Invitation.objects.select_for_update(of=("self",)) if lock else Invitation.objects.all()
    invitation = (
        invitations.select_related("space", "space__personal_owner", "inviter")
        .filter(Q(pk=reference) | Q(token_hash=token_hash(reference)))
        .first()
    )
    if invitation is None or invitation.email != actor.email or not actor.email_verified:
        raise ApiError(ErrorCode.NOT_FOUND)
    return invitation


def invitation_of_invitee(*, actor: User, invitation_id: str) -> Invitation:
    return _invitee_invitation(actor, invitation_id, lock=False)


def _require_open(invitation: Invitation) -> None:
    if invitation.status != Invitation.Status.PENDING:
        raise ApiError(ErrorCode.NOT_FOUND, "This invitation is no longer open.")


def invitation_join(*, actor: User, reference: str, origin: Origin) -> tuple[Invitation, Membership]:
    """The invitee joins with the invited role. Twice is a no-op; a canceled, rejected or used
    invitation is gone."""
    with transaction.atomic():
        invitation = _invitee_invitation(actor, reference, lock=True)
        existing = Membership.objects.select_related("space", "user").filter(space=invitation.space, user=actor).first()
        if invitation.status == Invitation.Status.ACCEPTED and existing is not None:
            return invitation, existing
        _require_open(invitation)
        if existing is None and invitation.expires_at <= timezone.now():
            raise ApiError(ErrorCode.TOKEN_EXPIRED, "This invitation has expired.")
        membership = existing or Membership.objects.create(space=invitation.space, user=actor, role=invitation.role)
        invitation.status = Invitation.Status.ACCEPTED
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = actor
        invitation.save(update_fields=["status", "accepted_at", "accepted_by"])
        security_event_record(
            type="MEMBER_JOINED", user_id=actor.id, origin=origin, metadata={"spaceId": invitation.space_id, "invitationId": invitation.id}
        )
    return invitation, membership


def invitation_accept(*, actor: User, token: str, origin: Origin) -> Membership:
    """The mailed link's door (the accept page, /api/v1/spaces): its `id` is the invitation id,
    or the token of an older link."""
    return invitation_join(actor=actor, reference=token, origin=origin)[1]


def invitation_reject(*, actor: User, invitation_id: str, origin: Origin) -> Invitation:
    """The invitee declines; twice is a no-op."""
    with transaction.atomic():
        invitation = _invitee_invitation(actor, invitation_id, lock=True)
        if invitation.status == Invitation.Status.REJECTED:
            return invitation
        _require_open(invitation)
        _invitation_close(invitation, Invitation.Status.REJECTED, "INVITATION_REJECTED", actor=actor, origin=origin)
    return invitation


def invitation_cancel(*, actor: User, invitation_id: str, origin: Origin) -> Invitation:
    """Owners and admins of the space withdraw a pending invitation; twice is a no-op."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(pk=invitation_id).first()
        if invitation is None:
            raise ApiError(ErrorCode.NOT_FOUND)
        _require_role(membership_of(actor, invitation.space_id), MemberRole.OWNER, MemberRole.ADMIN)
        if invitation.status == Invitation.Status.CANCELED:
            return invitation
        if invitation.status != Invitation.Status.PENDING:
            raise ApiError(ErrorCode.VALIDATION, "Only a pending invitation can be canceled.")
        _invitation_close(invitation, Invitation.Status.CANCELED, "INVITATION_CANCELED", actor=actor, origin=origin)
    return invitation


def _invitation_close(invitation: Invitation, status: str, event: str, *, actor: User, origin: Origin) -> None:
    """A pending invitation ends unaccepted (declined or withdrawn), and says who ended it."""
    invitation.status = status
    invitation.save(update_fields=["status"])
    security_event_record(
        type=event, user_id=actor.id, origin=origin, metadata={"spaceId": invitation.space_id, "invitationId": invitation.id}
    )


# --- leaving the platform ---------------------------------------------------------------------------
def spaces_blocking_deletion(*, user: User) -> list[Space]:
    """Shared spaces the user is the last owner of: deleting the user would orphan their members."""
    # The ids first: counting over the same join that filters by the user would count only them.
    owned_ids = Membership.objects.filter(user=user, role=MemberRole.OWNER).exclude(space__type=SpaceType.PERSONAL).values("space_id")
    counted = Space.objects.filter(pk__in=owned_ids).annotate(
        owners=Count("memberships", filter=Q(memberships__role=MemberRole.OWNER)), members=Count("memberships")
    )
    return [space for space in counted if space.owners == 1 and space.members > 1]


def spaces_release(*, user: User) -> None:
    """Before a user is deleted: spaces only they belong to go with them."""
    mine = Membership.objects.filter(user=user).exclude(space__type=SpaceType.PERSONAL).values("space_id")
    Space.objects.filter(pk__in=mine).annotate(members=Count("memberships")).filter(members=1).delete()
