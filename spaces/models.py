from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.ids import new_id
from core.models import RevocableQuerySet
from spaces.modules import SPACE_TYPES


class SpaceType(models.TextChoices):
    PERSONAL = "personal"
    BRAND = "brand"
    CLUB = "club"
    FAMILY = "family"
    TEAM = "team"
    PRACTICE = "practice"


class MemberRole(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


assert set(SpaceType.values) == set(SPACE_TYPES)  # noqa: S101 - one list of types, checked at import


class Space(models.Model):
    id = models.CharField(primary_key=True, max_length=36, default=new_id, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=50, unique=True)
    type = models.CharField(max_length=16, choices=SpaceType.choices)
    metadata = models.JSONField(default=dict)
    # The organization API's `logo`: a URL (or data URL) the clients show; empty when none.
    logo = models.TextField(blank=True, default="")
    # Set on personal spaces only: the unique index makes "exactly one per user" a database fact,
    # and the cascade removes it with its user.
    personal_owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="personal_space"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(type__in=SpaceType.values), name="spaces_type_valid"),
            models.CheckConstraint(
                condition=Q(type=SpaceType.PERSONAL, personal_owner__isnull=False)
                | (~Q(type=SpaceType.PERSONAL) & Q(personal_owner__isnull=True)),
                name="spaces_personal_has_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    # Text, like every id other services store: the old service's member ids are kept as they are.
    id = models.CharField(primary_key=True, max_length=36, default=new_id, editable=False)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    role = models.CharField(max_length=16, choices=MemberRole.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["space", "user"], name="spaces_one_membership_per_user"),
            models.CheckConstraint(condition=Q(role__in=MemberRole.values), name="spaces_role_valid"),
        ]
        indexes = [models.Index(fields=["user", "space"], name="spaces_membership_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.space_id} ({self.role})"


class Invitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        CANCELED = "canceled"

    id = models.CharField(primary_key=True, max_length=36, default=new_id, editable=False)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=MemberRole.choices)
    inviter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Links now carry the invitation id (PLATFORM.md §4; acceptance checks the invitee's address).
    # Invitations mailed before that carry a token, kept as its SHA-256 so those links still work.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["email", "status"], name="spaces_invitation_email")]

    def __str__(self) -> str:
        return f"invitation to {self.space_id}"


class ApiKey(models.Model):
    """`sk_live_` + 64 hex, shown once; stored as SHA-256 with an 8-hex prefix for recognition."""

    id = models.CharField(primary_key=True, max_length=36, default=new_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys", db_index=False)
    space = models.ForeignKey(Space, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    rate_limit = models.PositiveIntegerField(default=60)
    rate_window_seconds = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The session that created it with no proof beyond its token: the key ends with it.
    session = models.ForeignKey("accounts.Session", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RevocableQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="spaces_apikey_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SingletonBootstrap(models.Model):
    """That the sync singletons were provisioned (PLATFORM.md §10): a user's `userContext` (user set)
    or a space's `kontextDoc` (space set). The documents live in the sync service; this service
    only remembers that the bootstrap happened, once per user and once per space."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    space = models.OneToOneField(Space, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, space__isnull=True) | Q(user__isnull=True, space__isnull=False),
                name="spaces_bootstrap_user_or_space",
            )
        ]

    def __str__(self) -> str:
        return f"bootstrap of {self.user_id or self.space_id}"
