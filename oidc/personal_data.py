from typing import Any

from accounts.models import User
from core.personal_data import exporter
from oidc.models import AccessToken, Application, Consent, DeviceGrant, Grant, IDToken, RefreshToken


@exporter("connectedApps", Consent, Grant, AccessToken, RefreshToken, IDToken, Application, DeviceGrant)
def connected_apps(user: User) -> dict[str, Any]:
    """The clients the person approved and what each holds, by name, time and scope: never a code,
    token or secret. (Owned clients and device grants are none: operators register clients, and
    the device flow is off.)"""
    return {
        "consents": list(
            Consent.objects.filter(user=user).order_by("granted_at").values("application__name", "scope", "granted_at", "revoked_at")
        ),
        "accessTokens": list(
            AccessToken.objects.filter(user=user).order_by("created").values("application__name", "scope", "created", "expires")
        ),
        "refreshTokens": list(RefreshToken.objects.filter(user=user).order_by("created").values("application__name", "created", "revoked")),
    }
