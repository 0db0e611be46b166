import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("passkeys", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="passkey",
            name="session",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="accounts.session"
            ),
        ),
    ]
