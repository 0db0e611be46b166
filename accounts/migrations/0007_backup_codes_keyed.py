from typing import Any

from django.db import migrations

from core.keyring import get_keyring

# As accounts.services.two_factor stores codes now; frozen here, as a migration must be.
PURPOSE = "backup-code"
KEYED = "k:"


def backup_codes_keyed(apps: Any, schema_editor: Any) -> None:
    """Backup codes were a plain SHA-256 of a 40-bit code, crackable from a dump: each becomes an
    HMAC of that digest under a key derived from the active KEK, so the codes already handed out
    keep working and no unkeyed hash stays behind."""
    BackupCode = apps.get_model("accounts", "BackupCode")
    keyring = get_keyring()
    for row in BackupCode.objects.exclude(code_hash__startswith=KEYED).only("pk", "code_hash").iterator():
        keyed = keyring.keyed_hashes(PURPOSE, row.code_hash)[0][:62]
        BackupCode.objects.filter(pk=row.pk).update(code_hash=f"{KEYED}{keyed}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_user_feedback_show_real_name")]

    # Backwards the keyed rows stay (a plain digest cannot be recovered): the codes of an older
    # release's users need regenerating after a downgrade.
    operations = [migrations.RunPython(backup_codes_keyed, migrations.RunPython.noop)]
