from urllib.parse import parse_qs, urlsplit

from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import User
from oidc.models import Application, Consent


def consents_of(*, actor: User) -> QuerySet[Consent]:
    """The clients the person has approved and not revoked, newest first (for /account)."""
    return Consent.objects.active().filter(user=actor).select_related("application").order_by("-granted_at")


def authorization_callback(next_url: str) -> str | None:
    """The client callback a sign-in will end at, when `next_url` is an authorization request of a
    registered client for one of its registered redirect URIs (else None)."""
    parts = urlsplit(next_url)
    if parts.netloc or parts.path != reverse("oidc:authorize"):
        return None
    query = parse_qs(parts.query)
    application = Application.objects.filter(client_id=(query.get("client_id") or [""])[0]).first()
    if application is None:
        return None
    registered = application.redirect_uris.split()
    redirect_uri = (query.get("redirect_uri") or [registered[0] if len(registered) == 1 else ""])[0]
    return redirect_uri if application.redirect_uri_allowed(redirect_uri) else None
