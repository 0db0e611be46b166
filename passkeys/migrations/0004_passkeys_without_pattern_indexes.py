from django.db import migrations

from core.storage import without_pattern_indexes


class Migration(migrations.Migration):
    dependencies = [("passkeys", "0003_passkey_handle_unknown")]

    operations = [without_pattern_indexes("passkeys_passkey")]
