"""The OpenID Connect provider's tables: django-oauth-toolkit's models, swapped for ours (settings
OAUTH2_PROVIDER_*_MODEL) so that they can carry what the provider needs beyond the library's:
codes that are marked used instead of deleted (a second use must find them to revoke what the
first one issued), one token family per code, the sign-in time of the code, ID tokens signed with
our RS256 keys from the database; and the consents and keys themselves."""

import hashlib
import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractApplication,
    AbstractDeviceGrant,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
    ApplicationManager,
)

from core.ids import new_id
from core.models import RevocableQuerySet


class Application(AbstractApplication):
    """A relying party, registered by an operator (create_oidc_client or the admin). Its ID tokens
    are signed RS256 with the provider's keys (oidc.keys), never with a key from the settings."""

    algorithm = models.CharField(
        max_length=5, choices=[(AbstractApplication.RS256_ALGORITHM, "RSA with SHA-2 256")], default=AbstractApplication.RS256_ALGORITHM
    )
    authorization_grant_type = models.CharField(
        max_length=44,
        choices=[(AbstractApplication.GRANT_AUTHORIZATION_CODE, "Authorization code")],
        default=AbstractApplication.GRANT_AUTHORIZATION_CODE,
    )

    objects: ClassVar[ApplicationManager] = ApplicationManager()

    class Meta:
        verbose_name = "client"

    def natural_key(self) -> tuple[str]:
        return (self.client_id,)

    @property
    def jwk_key(self) -> Any:
        from oidc.keys import signing_jwk  # the keys module reads this app's models

        return signing_jwk()

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Simple string comparison with a registered URI (OpenID Connect Core 3.1.2.1), with no
        leeway for loopback ports either: a callback is registered exactly or not at all."""
        return uri in self.redirect_uris.split()

    def post_logout_redirect_uri_allowed(self, uri: str) -> bool:
        return uri in self.post_logout_redirect_uris.split()

    def clean(self) -> None:
        # The library's check wants an RSA key in the settings; ours live in the database.
        algorithm, self.algorithm = self.algorithm, AbstractApplication.NO_ALGORITHM
        try:
            super().clean()
        finally:
            self.algorithm = algorithm


class CodeHashField(models.CharField):
    """An authorization code kept as its SHA-256 only: every value written and every value looked
    up (the library finds codes by `code=`) passes through here, so a dump holds no usable code.
    A value already hashed passes unchanged, so saving a loaded row does not hash it twice."""

    PREFIX = "sha256:"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if isinstance(value, str) and value and not value.startswith(self.PREFIX):
            return self.PREFIX + hashlib.sha256(value.encode()).hexdigest()
        return value


class Grant(AbstractGrant):
    """An authorization code. Redeeming it marks it used; a second redemption finds it and
    revokes the token family it started."""

    code = CodeHashField(max_length=255, unique=True)

    used_at = models.DateTimeField(null=True, blank=True)
    token_family = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    # When the user signed in to the browser session that approved it (the ID token's auth_time).
    auth_time = models.DateTimeField(null=True, blank=True)


class AccessToken(AbstractAccessToken):
    # The code (family) it descends from, so a replayed code can revoke it.
    token_family = models.UUIDField(null=True, blank=True, editable=False, db_index=True)


class RefreshToken(AbstractRefreshToken):
    class Meta(AbstractRefreshToken.Meta):
        pass


class IDToken(AbstractIDToken):
    token_family = models.UUIDField(null=True, blank=True, editable=False, db_index=True)


class DeviceGrant(AbstractDeviceGrant):
    """Unused (the device flow is off); swapped like the others so the library keeps no table of its own."""

    class Meta(AbstractDeviceGrant.Meta):
        pass


class Consent(models.Model):
    """A user's approval of a client for a set of scopes: asked once per client and scope set,
    listed on /account, revocable there (revoking also ends the client's tokens)."""

    id = models.CharField(primary_key=True, max_length=36, default=new_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_consents")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="consents")
    scope = models.TextField()  # space-separated, sorted
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = RevocableQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "application"], condition=models.Q(revoked_at__isnull=True), name="oidc_one_live_consent"
            )
        ]

    def __str__(self) -> str:
        return f"consent {self.id}"

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()


class RsaSigningKey(models.Model):
    """An RS256 ID-token signing key; `kid` is its RFC 7638 thumbprint. The private half (PKCS#8
    PEM) is wrapped by the KEK keyring, like the EdDSA keys of accounts."""

    kid = models.CharField(primary_key=True, max_length=64)
    private_key_wrapped = models.TextField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=False)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="oidc_one_active_signing_key")]

    def __str__(self) -> str:
        return self.kid
