from django.db import migrations

from core.storage import without_pattern_indexes


class Migration(migrations.Migration):
    dependencies = [("accounts", "0010_foreign_keys_led_by_composite_indexes")]

    # An address's first sign-in attempt makes its row; nothing looks one up by prefix (the admin's
    # search is a case-insensitive substring, which no index serves). Its updates already stay on
    # their page (1057 of 1060 in a test of two sign-ins per address), so no fillfactor is set.
    operations = [without_pattern_indexes("accounts_lockoutstate")]
