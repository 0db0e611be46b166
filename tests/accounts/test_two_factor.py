"""Two-factor sign-in: the handoff from the password step to the second factor is the point
(the predecessor never made it)."""

from datetime import timedelta

import pytest
from django.db.models import F
from rest_framework.test import APIClient

from accounts import totp
from accounts.models import BackupCode, TwoFactor, TwoFactorChallenge, User
from core.keyring import get_keyring
from core.models import SecurityEvent
from tests.notify import NotifyStub
from tests.support import AUTH, PASSWORD, Clock, enable, login, verify

pytestmark = pytest.mark.django_db

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of the ASCII "12345678901234567890"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc_6238_sha1_vectors(timestamp: int, expected: str) -> None:
    assert totp.code_at(RFC_SECRET, timestamp, digits=8) == expected
    assert totp.code_at(RFC_SECRET, timestamp) == expected[-6:]  # the six-digit codes we use
    assert totp.matching_step(RFC_SECRET, expected[-6:], now=timestamp) == timestamp // 30


def test_a_code_one_step_off_is_accepted_two_steps_are_not() -> None:
    code = totp.code_at(RFC_SECRET, 1_000_000)
    assert totp.matching_step(RFC_SECRET, code, now=1_000_000 + 30) is not None
    assert totp.matching_step(RFC_SECRET, code, now=1_000_000 - 30) is not None
    assert totp.matching_step(RFC_SECRET, code, now=1_000_000 + 60) is None


def test_full_flow(alice: User, client_for, steps: Clock) -> None:
    client = client_for(alice)
    enrollment = enable(client, steps)
    assert enrollment["totpUri"].startswith("otpauth://totp/Mana:alice%40example.com?secret=")
    assert "issuer=Mana" in enrollment["totpUri"]
    assert len(enrollment["secret"]) == 32
    assert len(enrollment["backupCodes"]) == 10
    assert User.objects.get(pk=alice.pk).two_factor_enabled
    assert enrollment["secret"] not in TwoFactor.objects.get(user=alice).secret_wrapped  # KEK-wrapped at rest
    assert client.post(f"{AUTH}/logout").status_code == 200

    first_step = login(APIClient(), alice.email)
    assert first_step.status_code == 401
    body = first_step.json()
    assert body["error"] == "TWO_FACTOR_REQUIRED"
    assert set(body) == {"error", "code", "message", "status", "twoFactorToken"}  # and no tokens
    steps.step()
    code = totp.code_at(enrollment["secret"], steps.now)
    signed_in = verify(APIClient(), body["twoFactorToken"], code=code)
    assert signed_in.status_code == 200
    assert set(signed_in.json()) == {"user", "accessToken", "refreshToken", "token", "tokenType", "expiresIn", "deviceToken"}
    assert APIClient().get(f"{AUTH}/profile", HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['accessToken']}").status_code == 200

    again = login(APIClient(), alice.email).json()["twoFactorToken"]
    replayed = verify(APIClient(), again, code=code)  # the same code, same window
    assert (replayed.status_code, replayed.json()["error"]) == (401, "TWO_FACTOR_FAILED")


def test_the_confirming_code_cannot_be_replayed_at_sign_in(alice: User, client_for, steps: Clock) -> None:
    client = client_for(alice)
    enrollment = enable(client, steps)
    token = login(APIClient(), alice.email).json()["twoFactorToken"]
    assert verify(APIClient(), token, code=totp.code_at(enrollment["secret"], steps.now)).json()["error"] == "TWO_FACTOR_FAILED"


def test_a_backup_code_works_once(alice: User, client_for, steps: Clock, notify: NotifyStub, django_capture_on_commit_callbacks) -> None:
    enrollment = enable(client_for(alice), steps)
    backup = enrollment["backupCodes"][0]
    with django_capture_on_commit_callbacks(execute=True):
        first = verify(APIClient(), login(APIClient(), alice.email).json()["twoFactorToken"], backupCode=backup.upper())
    assert first.status_code == 200
    second = verify(APIClient(), login(APIClient(), alice.email).json()["twoFactorToken"], backupCode=backup)
    assert second.json()["error"] == "TWO_FACTOR_FAILED"
    assert SecurityEvent.objects.filter(type="BACKUP_CODE_USED", user=alice).count() == 1
    assert len(notify.to(alice.email)) == 1
    assert not BackupCode.objects.filter(code_hash=backup).exists()  # stored hashed


def test_five_wrong_codes_lock_like_five_wrong_passwords(alice: User, client_for, steps: Clock) -> None:
    enable(client_for(alice), steps)
    device_token = sign_in_with_second_factor(alice, steps)
    for _ in range(5):
        token = login(APIClient(), alice.email).json()["twoFactorToken"]
        assert verify(APIClient(), token, code="000000").json()["error"] == "TWO_FACTOR_FAILED"
    locked = login(APIClient(), alice.email)
    assert (locked.status_code, locked.json()["error"]) == (429, "ACCOUNT_LOCKED")
    # With the device token of an earlier sign-in, the lock caused elsewhere does not apply.
    assert login(APIClient(), alice.email, deviceToken=device_token).json()["error"] == "TWO_FACTOR_REQUIRED"


def sign_in_with_second_factor(user: User, steps: Clock) -> str:
    secret = get_keyring().unwrap_text(TwoFactor.objects.get(user=user).secret_wrapped, aad=f"totp-secret:{user.id}".encode()).decode()
    steps.step()
    token = login(APIClient(), user.email).json()["twoFactorToken"]
    answer = verify(APIClient(), token, code=totp.code_at(secret, steps.now))
    assert answer.status_code == 200
    return str(answer.json()["deviceToken"])


def test_two_factor_tokens_expire_and_are_single_use(alice: User, bob: User, client_for, steps: Clock) -> None:
    secret = enable(client_for(alice), steps)["secret"]
    token = login(APIClient(), alice.email).json()["twoFactorToken"]
    TwoFactorChallenge.objects.update(expires_at=F("created_at") - timedelta(seconds=1))
    steps.step()
    expired = verify(APIClient(), token, code=totp.code_at(secret, steps.now))
    assert (expired.status_code, expired.json()["error"]) == (401, "TOKEN_EXPIRED")

    token = login(APIClient(), alice.email).json()["twoFactorToken"]
    assert verify(APIClient(), token, code=totp.code_at(secret, steps.now)).status_code == 200
    steps.step()
    reused = verify(APIClient(), token, code=totp.code_at(secret, steps.now))
    assert (reused.status_code, reused.json()["error"]) == (401, "TOKEN_INVALID")

    # A token is bound to its user: bob's code does not complete alice's sign-in, nor the reverse.
    bob_secret = enable(client_for(bob), steps)["secret"]
    alice_token = login(APIClient(), alice.email).json()["twoFactorToken"]
    steps.step()
    crossed = verify(APIClient(), alice_token, code=totp.code_at(bob_secret, steps.now))
    assert crossed.json()["error"] == "TWO_FACTOR_FAILED"
    garbage = verify(APIClient(), "not-a-token", code="123456")
    assert garbage.json()["error"] == "TOKEN_INVALID"


def test_enable_confirm_disable_and_backup_codes(
    alice: User, client_for, steps: Clock, notify: NotifyStub, django_capture_on_commit_callbacks
) -> None:
    client = client_for(alice)
    wrong_password = client.post(f"{AUTH}/two-factor/enable", {"password": "nope nope nope"}, format="json")
    assert wrong_password.json()["error"] == "INVALID_CREDENTIALS"
    pending = client.post(f"{AUTH}/two-factor/enable", {"password": PASSWORD}, format="json").json()
    wrong = client.post(f"{AUTH}/two-factor/confirm", {"code": "000000"}, format="json")
    assert wrong.json()["error"] == "TWO_FACTOR_FAILED"
    assert not User.objects.get(pk=alice.pk).two_factor_enabled
    assert login(APIClient(), alice.email).status_code == 200  # pending does not change sign-in
    assert client.post(f"{AUTH}/two-factor/confirm", {"code": totp.code_at(pending["secret"], steps.now)}, format="json").status_code == 200

    regenerated = client.post(f"{AUTH}/two-factor/backup-codes", {"password": PASSWORD}, format="json").json()["backupCodes"]
    assert len(regenerated) == 10
    assert set(regenerated).isdisjoint(pending["backupCodes"])
    old = verify(APIClient(), login(APIClient(), alice.email).json()["twoFactorToken"], backupCode=pending["backupCodes"][0])
    assert old.json()["error"] == "TWO_FACTOR_FAILED"

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{AUTH}/two-factor/disable", {"password": PASSWORD}, format="json").json() == {"success": True}
    assert not User.objects.get(pk=alice.pk).two_factor_enabled
    assert login(APIClient(), alice.email).status_code == 200
    assert len(notify.to(alice.email)) == 1
    expected = {"TWO_FACTOR_ENABLED", "TWO_FACTOR_DISABLED", "BACKUP_CODES_REGENERATED"}
    assert set(SecurityEvent.objects.filter(user=alice, type__in=expected).values_list("type", flat=True)) == expected


def test_two_factor_routes_need_sign_in_and_good_input(alice: User, client_for) -> None:
    for path in ("enable", "confirm", "disable", "backup-codes"):
        response = APIClient().post(f"{AUTH}/two-factor/{path}", {}, format="json")
        assert (response.status_code, response.json()["error"]) == (401, "UNAUTHORIZED")
    both = APIClient().post(f"{AUTH}/two-factor/verify", {"twoFactorToken": "x", "code": "123456", "backupCode": "abc"}, format="json")
    assert (both.status_code, list(both.json()["fields"])) == (400, ["code"])
    letters = client_for(alice).post(f"{AUTH}/two-factor/confirm", {"code": "abcdef"}, format="json")
    assert list(letters.json()["fields"]) == ["code"]
