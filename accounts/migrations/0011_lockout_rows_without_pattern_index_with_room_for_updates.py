from django.db import migrations

from core.storage import room_for_updates, without_pattern_indexes


class Migration(migrations.Migration):
    dependencies = [("accounts", "0010_foreign_keys_led_by_composite_indexes")]

    operations = [
        # An address's first sign-in attempt makes its row; nothing looks one up by prefix (the
        # admin's search is a case-insensitive substring, which no index serves).
        without_pattern_indexes("accounts_lockoutstate"),
        # The sign-in that follows clears its failures: an update in place, not a row moved.
        room_for_updates("accounts_lockoutstate", 80),
    ]
