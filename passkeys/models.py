from django.conf import settings
from django.db import models
from django.utils import timezone

from core.ids import new_id


class Passkey(models.Model):
    """A WebAuthn credential. The public key is no secret; the private key never leaves the device."""

    class DeviceType(models.TextChoices):
        SINGLE_DEVICE = "single_device"
        MULTI_DEVICE = "multi_device"

    id = models.CharField(primary_key=True, max_length=36, default=new_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys", db_index=False)
    credential_id = models.CharField(max_length=1400, unique=True)  # base64url of up to 1023 bytes
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    aaguid = models.CharField(max_length=36, blank=True, default="")
    transports = models.JSONField(default=list, blank=True)
    device_type = models.CharField(max_length=16, choices=DeviceType.choices, default=DeviceType.SINGLE_DEVICE)
    backed_up = models.BooleanField(default=False)
    name = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Made by the old identity service, whose library gave every registration a random user handle
    # and never stored it: the credential id alone names such a passkey, whatever handle it sends.
    handle_unknown = models.BooleanField(default=False)
    # The session that added it with no proof beyond its token: the passkey ends with it.
    session = models.ForeignKey("accounts.Session", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="passkeys_user_created")]

    def __str__(self) -> str:
        return self.name
