from django.db import migrations

from core.storage import without_pattern_indexes


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [without_pattern_indexes("core_securityevent")]
