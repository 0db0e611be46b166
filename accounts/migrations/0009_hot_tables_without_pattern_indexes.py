from django.db import migrations

from core.storage import room_for_updates, without_pattern_indexes


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_user_password_room_for_imported_hashes")]

    operations = [
        without_pattern_indexes("accounts_session", "accounts_refreshtoken", "accounts_devicetoken", "accounts_loginattempt"),
        # Every refresh updates its session and marks its token used.
        room_for_updates("accounts_session", 80),
        room_for_updates("accounts_refreshtoken", 80),
    ]
