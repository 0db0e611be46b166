import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_tests_run_as_a_role_that_row_level_security_binds() -> None:
    """Superusers and BYPASSRLS roles ignore row-level security; the service must not be one."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
