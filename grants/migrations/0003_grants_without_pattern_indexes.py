from django.db import migrations

from core.storage import without_pattern_indexes


class Migration(migrations.Migration):
    dependencies = [("grants", "0002_row_level_security")]

    operations = [without_pattern_indexes("grants_grant")]
