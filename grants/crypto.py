"""Mission Data Keys: HKDF-SHA256 from the user's master key, RSA-OAEP-SHA256 to the AI service.

Byte-exact with the platform's TypeScript implementation (API.md §Mission grants), so grants
stay interchangeable between the two.
"""

from collections.abc import Iterable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DERIVATION_VERSION = "v1"
MDK_BYTES = 32
MIN_RSA_BITS = 2048


def hkdf_sha256(*, ikm: bytes, salt: bytes, info: bytes, length: int = MDK_BYTES) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _js_sorted(values: Iterable[str]) -> list[str]:
    # JavaScript's default sort compares UTF-16 code units; so must we, for byte-exact infos.
    return sorted(values, key=lambda value: value.encode("utf-16-be"))


def derivation_info(*, tables: Iterable[str], record_ids: Iterable[str]) -> bytes:
    return (
        f"mana-ai-mission-grant:{DERIVATION_VERSION}:tables={','.join(_js_sorted(tables))}:ids={','.join(_js_sorted(record_ids))}".encode()
    )


def derive_mission_key(*, master_key: bytes, mission_id: str, tables: Iterable[str], record_ids: Iterable[str]) -> bytes:
    return hkdf_sha256(ikm=master_key, salt=mission_id.encode(), info=derivation_info(tables=tables, record_ids=record_ids))


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """The AI service's key: SPKI PEM, RSA of at least 2048 bits, or ValueError saying why."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError("MANA_AI_PUBLIC_KEY_PEM is not a PEM-encoded public key (SPKI).") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("MANA_AI_PUBLIC_KEY_PEM must be an RSA public key.")
    if key.key_size < MIN_RSA_BITS:
        raise ValueError(f"MANA_AI_PUBLIC_KEY_PEM is RSA-{key.key_size}; at least {MIN_RSA_BITS} bits are required.")
    return key


def wrap_for_ai(public_key: rsa.RSAPublicKey, mission_key: bytes) -> bytes:
    return public_key.encrypt(mission_key, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
