import unicodedata


def normalise_email(email: str) -> str:
    """The one spelling of an address: NFKC (folds look-alike compatibility characters), trimmed,
    lower-cased. Every lookup and every stored address goes through here."""
    return unicodedata.normalize("NFKC", email).strip().lower()
