import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import F

from accounts.models import User
from core.models import SecurityEvent
from core.services import security_event_record

pytestmark = pytest.mark.django_db


def test_purge_deletes_only_old_anonymised_events(alice: User, settings) -> None:
    settings.SECURITY_EVENT_RETENTION_DAYS = 30
    old_anonymous = security_event_record(type="LOGIN_FAILURE")
    recent_anonymous = security_event_record(type="LOGIN_FAILURE")
    old_personal = security_event_record(type="LOGIN_SUCCESS", user_id=alice.id)
    SecurityEvent.objects.filter(pk__in=[old_anonymous.pk, old_personal.pk]).update(created_at=F("created_at") - timedelta(days=31))
    out = io.StringIO()
    call_command("purge_security_events", stdout=out)
    assert "Deleted 1 anonymised security events older than 30 days." in out.getvalue()
    assert set(SecurityEvent.objects.values_list("pk", flat=True)) == {recent_anonymous.pk, old_personal.pk}
