import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("spaces", "0004_personal_space_slugs"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="session",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="accounts.session"
            ),
        ),
    ]
