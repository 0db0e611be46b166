from pathlib import Path

import polib
from django.utils import translation

from tests.support import REPO

LOCALE = Path(REPO) / "locale" / "de" / "LC_MESSAGES"


def test_every_german_message_is_translated_and_compiled() -> None:
    source = polib.pofile(str(LOCALE / "django.po"))
    compiled = polib.mofile(str(LOCALE / "django.mo"))
    assert source.untranslated_entries() == []
    assert source.fuzzy_entries() == []
    assert {(e.msgid, e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in source.translated_entries()} == {
        (e.msgid, e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in compiled if e.msgid
    }, "django.mo is stale: run `make messages`"


def test_pages_speak_german_by_default_and_english_on_request() -> None:
    with translation.override("de"):
        assert translation.gettext("Sign in") == "Anmelden"
        assert translation.ngettext("Try again in %(minutes)d minute.", "Try again in %(minutes)d minutes.", 30) % {"minutes": 30} == (
            "Versuche es in 30 Minuten wieder."
        )
    with translation.override("en"):
        assert translation.gettext("Sign in") == "Sign in"
