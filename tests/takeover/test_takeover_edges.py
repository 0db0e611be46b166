"""The import's edges: the old sealed formats, metadata in both encodings, a source that must stay
untouched, and refusals that write nothing (a KEK that does not open the vaults, a source that
cannot be reached). The end-to-end behaviour is in test_import.py."""

import base64
import json
import os
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from core.origin import NO_ORIGIN
from core.rls import acting_as
from takeover.envelope import Envelope, EnvelopeError
from takeover.source import Source
from takeover.steps_spaces import space_metadata
from tests.takeover.oldservice import World, envelope_seal
from vault.models import Vault
from vault.services import vault_key_fetch

SECRET = "an-old-better-auth-secret"


def test_an_envelope_opens_bare_and_versioned_and_refuses_another_secret() -> None:
    sealed = envelope_seal(SECRET, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert Envelope(SECRET).open_text(sealed) == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert Envelope(SECRET).open_text(f"$ba$2${sealed}") == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    with pytest.raises(EnvelopeError):
        Envelope("another secret").open(sealed)


@pytest.mark.parametrize("stored", ["not hex", "00" * 24, ""])
def test_a_damaged_envelope_is_an_envelope_error(stored: str) -> None:
    with pytest.raises(EnvelopeError):
        Envelope(SECRET).open(stored)


def test_a_signing_key_is_a_json_string_literal_of_the_sealed_hex() -> None:
    sealed = envelope_seal(SECRET, json.dumps({"kty": "OKP", "crv": "Ed25519", "x": "x", "d": "d"}))
    assert Envelope(SECRET).open_quoted_json(json.dumps(sealed))["d"] == "d"
    with pytest.raises(EnvelopeError):
        Envelope(SECRET).open_quoted_json(json.dumps({"not": "a string"}))


@pytest.mark.parametrize(
    ("stored", "decoded"),
    [
        ({"type": "personal", "tier": "founder"}, {"type": "personal", "tier": "founder"}),
        ('{"type": "team"}', {"type": "team"}),  # the old library's double encoding
        (None, {}),
        ("not json", None),
        ('["a list"]', None),
    ],
)
def test_space_metadata_is_decoded_whether_object_or_string(stored: object, decoded: object) -> None:
    assert space_metadata(stored) == decoded


@pytest.mark.postgres
def test_the_source_is_read_in_read_only_transactions(old_service: World) -> None:
    source = Source(old_service.dsn)
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            source.fetch("DELETE FROM auth.users")
    finally:
        source.close()
    with psycopg.connect(old_service.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM auth.users").fetchone() == (len(old_service.users),)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_kek_that_does_not_open_the_vaults_writes_nothing_and_names_the_kek(old_service: World, settings) -> None:
    settings.MANA_AUTH_KEK = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(CommandError, match="MANA_AUTH_KEK") as refused:
        call_command("import_ts_service", source=old_service.dsn, better_auth_secret_file=str(old_service.secret_file), stdout=StringIO())
    assert "nothing was written" in str(refused.value)
    assert User.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_old_kek_kept_as_a_retired_one_still_opens_the_vaults(old_service: World, settings) -> None:
    """The operator rotated first: the old KEK is only in MANA_AUTH_OLD_KEKS. The master key is
    the same, now wrapped under the new active KEK."""
    settings.MANA_AUTH_OLD_KEKS = f"env-v1:{settings.MANA_AUTH_KEK}"
    settings.MANA_AUTH_KEK, settings.MANA_AUTH_KEK_ID = base64.b64encode(os.urandom(32)).decode(), "kek-2027"
    call_command("import_ts_service", source=old_service.dsn, better_auth_secret_file=str(old_service.secret_file), stdout=StringIO())
    alice = old_service.user("alice").id
    with acting_as(alice):
        vault = Vault.objects.get(user_id=alice)
    assert vault.kek_id == "kek-2027"
    assert (
        vault_key_fetch(actor=User.objects.get(pk=alice), origin=NO_ORIGIN).body["masterKey"]
        == base64.b64encode(old_service.master_key).decode()
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_unreachable_source_is_a_clear_error_without_its_password(old_service: World) -> None:
    with pytest.raises(CommandError, match="cannot connect to the source database") as refused:
        call_command(
            "import_ts_service",
            source="postgres://someone:hunter2-password@127.0.0.1:1/nowhere",
            better_auth_secret_file=str(old_service.secret_file),
            stdout=StringIO(),
        )
    assert "hunter2-password" not in str(refused.value)
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_an_empty_secret_file_is_refused_before_the_source_is_read(tmp_path) -> None:
    empty = tmp_path / "secret"
    empty.write_text("\n")
    with pytest.raises(CommandError, match="--better-auth-secret-file is empty"):
        call_command("import_ts_service", source="postgres://unused@127.0.0.1:1/x", better_auth_secret_file=str(empty), stdout=StringIO())


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_address_already_taken_here_is_reported_and_that_user_skipped(old_service: World) -> None:
    alice = old_service.user("alice")
    User.objects.create_user(email=alice.email, password="someone-else-entirely")
    out = StringIO()
    call_command("import_ts_service", source=old_service.dsn, better_auth_secret_file=str(old_service.secret_file), stdout=out)
    assert f"  skipped {alice.id}: another account here has the same address" in out.getvalue()
    assert not User.objects.filter(pk=alice.id).exists()
    assert User.objects.filter(pk=old_service.user("bob").id).exists()
