from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Print a fresh RSA-3072 key pair for mission grants: "
        "the private key (PKCS#8) for the AI service, the public key (SPKI) for MANA_AI_PUBLIC_KEY_PEM."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.stdout.write(private_pem.decode() + public_pem.decode(), ending="")
