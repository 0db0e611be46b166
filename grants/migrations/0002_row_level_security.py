from django.db import migrations

from core.rls import owner_only_policy


class Migration(migrations.Migration):
    dependencies = [("grants", "0001_initial")]

    operations = [owner_only_policy("grants_decryptaudit")]
