import pytest
from django.db import IntegrityError

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_email_is_stored_normalised_and_unique_case_insensitively() -> None:
    user = User.objects.create_user("  Alice@Example.COM ", "a-long-password-1")
    assert user.email == "alice@example.com"
    assert len(user.id) == 36
    with pytest.raises(IntegrityError):
        User.objects.create_user("ALICE@example.com", "a-long-password-1")


def test_unicode_look_alikes_normalise_to_one_address() -> None:
    User.objects.create_user("alice@example.com", "a-long-password-1")
    with pytest.raises(IntegrityError):
        User.objects.create_user("ａｌｉｃｅ@example.com", "a-long-password-1")  # fullwidth letters


def test_the_database_refuses_an_upper_case_email() -> None:
    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(email="Mixed@Example.com")])


def test_defaults_and_superuser() -> None:
    user = User.objects.create_user("u@example.com")
    assert (user.role, user.tier, user.kind, user.email_verified, user.has_usable_password()) == ("user", "public", "human", False, False)
    admin = User.objects.create_superuser("root@example.com", "a-long-password-1")
    assert (admin.role, admin.is_staff, admin.is_superuser, admin.email_verified) == ("admin", True, True, True)
    assert admin.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
