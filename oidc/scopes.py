"""The scopes a client may ask for, and what the consent page tells the person about each."""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

OPENID = "openid"
SCOPE_TEXTS: dict[str, Promise] = {
    OPENID: _("Confirm that it is you (your Mana account id)"),
    "email": _("Your email address and whether it is confirmed"),
    "profile": _("Your name"),
    "offline_access": _("Stay connected while you are away (until you revoke it here)"),
}


def scope_texts(scopes: list[str]) -> list[str]:
    """What each scope lets the client see, in the page's language, in a fixed order."""
    return [str(SCOPE_TEXTS[scope]) for scope in SCOPE_TEXTS if scope in scopes]
