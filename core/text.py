import re
import unicodedata

from django.core.exceptions import ValidationError

EMAIL_MAX_LENGTH = 254  # RFC 5321's limit, and the column's

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt; unicodedata has no lookup
# for it): characters that render as nothing, so "exam\u200bple.com" looks like "example.com".
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def normalise_email(email: str) -> str:
    """The one spelling of an address: NFKC (folds look-alike compatibility characters), trimmed,
    lower-cased. Every lookup and every stored address goes through here."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def has_invisible(text: str) -> bool:
    return _INVISIBLE.search(text) is not None


def validate_visible(value: str) -> None:
    """A validator for new addresses: one with an invisible character would be a second account
    that looks like an existing one."""
    if has_invisible(value):
        raise ValidationError("The address contains an invisible character.", code="invisible")
