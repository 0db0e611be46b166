from django.db import migrations

from core.rls import owner_only_policy


class Migration(migrations.Migration):
    dependencies = [("vault", "0001_initial")]

    operations = [owner_only_policy("vault_vault"), owner_only_policy("vault_vaultaudit")]
