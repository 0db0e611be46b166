from typing import Any

from django.db import migrations, models


def device_documents_with_apps(apps: Any, schema_editor: Any) -> None:
    """Device settings were `{<deviceId>: {<appId>: …}}`; PLATFORM.md §5 names the device too:
    `{<deviceId>: {deviceName, deviceType, lastSeen, apps: {<appId>: …}}}`."""
    UserSettings = apps.get_model("accounts", "UserSettings")
    for row in UserSettings.objects.iterator():
        if not row.device_settings:
            continue
        row.device_settings = {
            device_id: {"deviceName": "", "deviceType": "", "lastSeen": None, "apps": dict(device or {})}
            for device_id, device in row.device_settings.items()
        }
        row.save(update_fields=["device_settings"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_session_cookie_space_device"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="feedback_show_real_name",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(device_documents_with_apps, migrations.RunPython.noop),
    ]
