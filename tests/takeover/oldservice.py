"""The old identity service's world (Better Auth 1.6, MIGRATION.md), made with the real algorithms.

Everything here is computed the way the old service computed it and with other code than the
project's: scrypt from `cryptography` (the project's hasher uses hashlib), XChaCha20-Poly1305 from
PyNaCl, AES-GCM vault wraps without associated data, Ed25519 keys and tokens from `cryptography`
and PyJWT, and a passkey registration parsed by hand from the authenticator's attestation. The
plaintexts stay in the `World`, so the tests can sign in with them and look for them later.
"""

import base64
import hashlib
import json
import secrets
import string
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import jwt as pyjwt
import psycopg
import pyotp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt, crypto_aead_xchacha20poly1305_ietf_encrypt
from psycopg import sql
from psycopg.types.json import Jsonb

from tests.passkeys.authenticator import SoftAuthenticator

SCHEMA = Path(__file__).with_name("old_schema.sql")
ALPHANUMERIC = string.ascii_letters + string.digits
NANOID_ALPHABET = ALPHANUMERIC + "_-"
VAULT_KEK_ID = "env-v1"
PASSKEY_COUNTER = 5
# A real AAGUID (Chrome on macOS), so a kept value is told apart from the all-zero default.
PASSKEY_AAGUID = uuid.UUID("adce0002-35bc-c60a-648b-0b25f1f05503")


# --- ids, as the old service made them ------------------------------------------------------
def better_auth_id() -> str:
    """Better Auth's generateId: 32 random alphanumerics."""
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(32))


def nanoid(size: int = 21) -> str:
    """The personal spaces' ids: nanoid's URL-safe alphabet, 21 characters."""
    return "".join(secrets.choice(NANOID_ALPHABET) for _ in range(size))


def random_string(size: int) -> str:
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(size))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the stored formats (MIGRATION.md §Stored formats) --------------------------------------
def password_hash(password: str) -> str:
    """`<salt>:<key>`: the salt is 32 hex characters whose UTF-8 bytes salt scrypt."""
    salt = secrets.token_hex(16)
    key = Scrypt(salt=salt.encode(), length=64, n=16384, r=16, p=1).derive(unicodedata.normalize("NFKC", password).encode())
    return f"{salt}:{key.hex()}"


def envelope_key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def envelope_seal(secret: str, plaintext: str) -> str:
    """hex(nonce24 ‖ ciphertext ‖ tag), XChaCha20-Poly1305 under SHA-256 of the secret, no AAD."""
    nonce = secrets.token_bytes(24)
    return (nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext.encode(), None, nonce, envelope_key(secret))).hex()


def envelope_open(secret: str, sealed: str) -> str:
    raw = bytes.fromhex(sealed)
    return crypto_aead_xchacha20poly1305_ietf_decrypt(raw[24:], None, raw[:24], envelope_key(secret)).decode()


def new_totp_secret() -> str:
    return random_string(32)


def totp_now(secret: str, at: float | None = None) -> str:
    """The 6-digit code of the old secret: the HMAC key is the secret's UTF-8 bytes."""
    otp = pyotp.TOTP(base64.b32encode(secret.encode()).decode())
    return str(otp.now() if at is None else otp.at(at))


def new_backup_codes() -> list[str]:
    return [f"{random_string(5)}-{random_string(5)}" for _ in range(10)]


def vault_kek() -> bytes:
    """The 32 bytes the new service gets as its active KEK; the old one used the same bytes."""
    return base64.b64decode(settings.MANA_AUTH_KEK)


def vault_wrap(kek: bytes, master_key: bytes) -> tuple[str, str]:
    """(wrapped_mk, wrap_iv) as stored: base64(AES-256-GCM ciphertext ‖ tag), base64(12-byte IV), no AAD."""
    iv = secrets.token_bytes(12)
    return base64.b64encode(AESGCM(kek).encrypt(iv, master_key, None)).decode(), base64.b64encode(iv).decode()


def api_key_new() -> str:
    return "sk_live_" + secrets.token_hex(32)


# --- the signing keys and a token the old service minted -------------------------------------
@dataclass
class OldSigningKey:
    kid: str
    private_key: Ed25519PrivateKey = field(repr=False)
    created_at: datetime

    def x(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def d(self) -> str:
        return b64url(self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    def public_jwk(self) -> str:
        return json.dumps({"kty": "OKP", "crv": "Ed25519", "x": self.x()})

    def sealed_private_jwk(self, secret: str) -> str:
        # The private key column holds a JSON string literal of the envelope's hex.
        return json.dumps(envelope_seal(secret, json.dumps({"kty": "OKP", "crv": "Ed25519", "x": self.x(), "d": self.d()})))

    def mint(self, claims: dict[str, Any]) -> str:
        # jose's SignJWT put only alg and kid in the header: no typ.
        return pyjwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid, "typ": None})


# --- a passkey registered the way the old library registered it ------------------------------
@dataclass
class RegisteredPasskey:
    credential_id: str  # base64url, as stored
    public_key: str  # standard padded base64 of the COSE key, as stored
    aaguid: str
    user_handle: str


def passkey_register(authenticator: SoftAuthenticator, email: str, name: str) -> RegisteredPasskey:
    """A registration ceremony against the relying party the tests use, with a random user handle
    (the old library made one per registration and never stored it). The attestation is parsed
    here, not by the project's code or its WebAuthn library."""
    rp_id = str(settings.WEBAUTHN_RP_ID)
    challenge = secrets.token_bytes(32)
    options = {
        "rp": {"id": rp_id, "name": "Mana"},
        "user": {"id": b64url(secrets.token_bytes(32)), "name": email, "displayName": name},
        "challenge": b64url(challenge),
        "pubKeyCredParams": [{"type": "public-key", "alg": -8}, {"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}],
        "attestation": "none",
    }
    response = authenticator.create(options=options, origin=str(settings.WEBAUTHN_ORIGINS[0]))
    client_data = json.loads(b64url_decode(response["response"]["clientDataJSON"]))
    if client_data["type"] != "webauthn.create" or b64url_decode(client_data["challenge"]) != challenge:
        raise ValueError("the authenticator answered another ceremony")
    auth_data: bytes = cbor2.loads(b64url_decode(response["response"]["attestationObject"]))["authData"]
    if auth_data[:32] != hashlib.sha256(rp_id.encode()).digest():
        raise ValueError("the authenticator registered for another relying party")
    # rpIdHash(32) flags(1) signCount(4) aaguid(16) idLength(2) id publicKey (no extensions follow).
    aaguid = uuid.UUID(bytes=auth_data[37:53])
    id_length = int.from_bytes(auth_data[53:55], "big")
    credential_id = auth_data[55 : 55 + id_length]
    cose_key = auth_data[55 + id_length :]
    return RegisteredPasskey(
        credential_id=b64url(credential_id),
        public_key=base64.b64encode(cose_key).decode(),
        aaguid=str(aaguid),
        user_handle=options["user"]["id"],  # type: ignore[index]
    )


# --- the world --------------------------------------------------------------------------------
@dataclass
class OldUser:
    id: str
    email: str
    name: str
    password: str
    role: str
    tier: str
    kind: str
    email_verified: bool
    two_factor_enabled: bool
    deleted: bool
    personal_space_id: str | None  # every user but the deleted one has one


@dataclass
class World:
    """The old service's database and the plaintexts behind it."""

    dsn: str
    secret: str  # the Better Auth secret
    secret_file: Path  # holding it, with a trailing newline
    users: dict[str, OldUser]  # alice, bob, carol, dave, erin, zoe, persona, gone
    totp_secrets: dict[str, str]  # bob (2FA on) and erin (unfinished enrolment)
    backup_codes: dict[str, list[str]]
    authenticator: SoftAuthenticator  # carol's; it holds her old passkey
    passkey: RegisteredPasskey
    passkey_counter: int
    signing_keys: list[OldSigningKey]  # newest first
    old_token: str  # minted by the newest key for alice's live session
    live_session_id: str
    live_session_token: str  # alice's; what her client holds as its refresh token
    expired_session_token: str
    api_key: str
    api_key_id: str
    api_key_scopes: list[str]
    master_key: bytes  # alice's, behind the server wrap
    zoe_recovery_wrapped_mk: bytes
    zoe_recovery_iv: bytes
    team_space_id: str
    team_slug: str
    team_member_ids: dict[str, str]  # alice (owner) and bob (admin)
    invitations: dict[str, str]  # status -> invitation id: pending (frank), accepted (carol), canceled (erin)
    invitee: str  # frank's address: invited, not yet a user
    dangling_member_id: str
    github_account_id: str
    settings: dict[str, Any]  # alice's global_settings, app_overrides, device_settings
    security_events: list[tuple[str | None, str, str]]  # (user key or None, event type, ip address)
    persona_archetype: str
    persona_cadence: str
    persona_module_mix: dict[str, float]
    verification_tokens: list[str]

    def user(self, key: str) -> OldUser:
        return self.users[key]

    def mint_old_token(self, **claims: Any) -> str:
        """Another token of alice's live session from the newest old key (claims may be overridden)."""
        return self.signing_keys[0].mint(_old_claims(self.users["alice"], self.live_session_id) | claims)

    def plaintext_secrets(self) -> dict[str, bytes]:
        """Every secret of the source in plaintext, by name: none may appear in the new database
        or the command's output. Text secrets are given as UTF-8 bytes."""
        found: dict[str, bytes] = {"Better Auth secret": self.secret.encode(), "api key": self.api_key.encode()}
        found["api key secret part"] = self.api_key.removeprefix("sk_live_").encode()
        for key, secret in self.totp_secrets.items():
            found[f"{key}'s TOTP secret"] = secret.encode()
            found[f"{key}'s TOTP secret in base32"] = base64.b32encode(secret.encode()).rstrip(b"=")
        for key, codes in self.backup_codes.items():
            for number, code in enumerate(codes):
                found[f"{key}'s backup code {number}"] = code.encode()
        found["live session token"] = self.live_session_token.encode()
        found["expired session token"] = self.expired_session_token.encode()
        for number, signing_key in enumerate(self.signing_keys):
            found[f"private JWK d {number}"] = signing_key.d().encode()
            found[f"private key {number} raw"] = b64url_decode(signing_key.d())
        found["master key raw"] = self.master_key
        found["master key base64"] = base64.b64encode(self.master_key)
        found["master key hex"] = self.master_key.hex().encode()
        for number, token in enumerate(self.verification_tokens):
            found[f"verification token {number}"] = token.encode()
        for key, user in self.users.items():
            found[f"{key}'s password"] = user.password.encode()
        return found


def _old_claims(user: OldUser, session_id: str) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    # `role` was always "user" in the old service's tokens (MIGRATION.md: a bug).
    return {
        "sub": user.id,
        "email": user.email,
        "role": "user",
        "tier": user.tier,
        "sid": session_id,
        "iat": now,
        "exp": now + 900,
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
    }


# The cast. (key, name, password, role, tier, kind, verified, 2FA on, deleted)
CAST: list[tuple[str, str, str, str, str, str, bool, bool, bool]] = [
    ("alice", "Alice Archer", "old-pass-alice-1", "admin", "founder", "human", True, False, False),
    ("bob", "Bob Baker", "old-pass-bob-2", "user", "alpha", "human", True, True, False),
    ("carol", "Carol Cooper", "old-pass-carol-3", "user", "beta", "human", True, False, False),
    ("dave", "Dave Dyer", "old-pass-dave-4", "user", "public", "human", False, False, False),
    # "ﬁ" (U+FB01) is "fi" under NFKC: the old service hashed the normalised form.
    ("erin", "Erin Evans", "erin's ﬁne pass 5", "user", "public", "human", True, False, False),
    ("zoe", "Zoe Zimmer", "old-pass-zoe-6", "user", "alpha", "human", True, False, False),
    ("persona", "Persona Ada", "old-pass-persona-7", "user", "beta", "persona", True, False, False),
    ("gone", "Gone Gale", "old-pass-gone-8", "user", "public", "human", True, False, True),
]

# Source tables in the order their foreign keys allow.
TABLES = [
    "users",
    "accounts",
    "sessions",
    "verification",
    "jwks",
    "two_factor_auth",
    "passkeys",
    "organizations",
    "members",
    "invitations",
    "api_keys",
    "encryption_vaults",
    "encryption_vault_audit",
    "user_settings",
    "security_events",
    "login_attempts",
    "personas",
    "persona_actions",
    "persona_feedback",
]
RLS_TABLES = {"encryption_vaults", "encryption_vault_audit"}


class _Rows:
    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {table: [] for table in TABLES}

    def add(self, table: str, **row: Any) -> dict[str, Any]:
        self.tables[table].append(row)
        return row

    def insert(self, conn: psycopg.Connection[Any]) -> None:
        for table, rows in self.tables.items():
            for row in rows:
                statement = sql.SQL("INSERT INTO auth.{} ({}) VALUES ({})").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, row)), sql.SQL(", ").join(sql.Placeholder() * len(row))
                )
                with conn.transaction():
                    if table in RLS_TABLES:
                        # The vault tables admit a row only while the setting names its user.
                        conn.execute("SELECT set_config('app.current_user_id', %s, true)", [row["user_id"]])
                    conn.execute(statement, list(row.values()))


def build(conn: psycopg.Connection[Any], *, dsn: str, secret_dir: Path) -> World:
    """Create the old schema in the empty database behind `conn` and fill it; returns the World."""
    conn.execute(SCHEMA.read_text())
    conn.commit()

    now = datetime.now(UTC)
    secret = base64.b64encode(secrets.token_bytes(32)).decode()  # 32 random bytes in base64, as operators make one
    secret_file = secret_dir / "better-auth-secret"
    secret_file.write_text(secret + "\n")
    rows = _Rows()
    kek = vault_kek()

    users: dict[str, OldUser] = {}
    for index, (key, name, password, role, tier, kind, verified, two_factor, deleted) in enumerate(CAST):
        user = OldUser(
            id=better_auth_id(),
            email=f"{key}@example.com",
            name=name,
            password=password,
            role=role,
            tier=tier,
            kind=kind,
            email_verified=verified,
            two_factor_enabled=two_factor,
            deleted=deleted,
            personal_space_id=None if deleted else nanoid(),
        )
        users[key] = user
        created = now - timedelta(days=400 - 10 * index)
        rows.add(
            "users",
            id=user.id,
            name=name,
            email=user.email,
            email_verified=verified,
            image=f"https://cdn.example.com/avatars/{key}.png" if key == "alice" else None,
            created_at=created,
            updated_at=created + timedelta(days=1),
            role=role,
            access_tier=tier,
            kind=kind,
            two_factor_enabled=two_factor,
            deleted_at=now - timedelta(days=30) if deleted else None,
            onboarding_completed_at=created + timedelta(hours=2) if key == "alice" else None,
            feedback_show_real_name=key == "alice",
            feedback_karma=42 if key == "alice" else 0,
        )
        rows.add(
            "accounts",
            id=better_auth_id(),
            account_id=user.id,
            provider_id="credential",
            user_id=user.id,
            password=password_hash(password),
            created_at=created,
            updated_at=created,
        )
        if user.personal_space_id is not None:
            slug = f"{key}-{''.join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(6))}"
            rows.add(
                "organizations",
                id=user.personal_space_id,
                name=name,
                slug=slug,
                logo=None,
                metadata=Jsonb({"type": "personal", "tier": tier}),
                created_at=created,
            )
            rows.add(
                "members", id=better_auth_id(), organization_id=user.personal_space_id, user_id=user.id, role="owner", created_at=created
            )
    alice, carol, erin, zoe, persona = (users[key] for key in ("alice", "carol", "erin", "zoe", "persona"))

    github_account_id = better_auth_id()
    # No other provider was ever configured; the importer reports and skips such a row.
    rows.add(
        "accounts",
        id=github_account_id,
        account_id="583231",
        provider_id="github",
        user_id=alice.id,
        password=None,
        created_at=now - timedelta(days=200),
        updated_at=now - timedelta(days=200),
    )

    # Sessions: alice's live one (the old token's sid) and an expired one.
    live_session_id, live_session_token, expired_session_token = better_auth_id(), random_string(32), random_string(32)
    rows.add(
        "sessions",
        id=live_session_id,
        token=live_session_token,
        user_id=alice.id,
        expires_at=now + timedelta(days=7),
        ip_address="198.51.100.7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) old web app",
        created_at=now - timedelta(hours=5),
        updated_at=now - timedelta(hours=1),
    )
    rows.add(
        "sessions",
        id=better_auth_id(),
        token=expired_session_token,
        user_id=alice.id,
        expires_at=now - timedelta(days=2),
        ip_address="198.51.100.8",
        user_agent="Mozilla/5.0 (Macintosh) old web app",
        created_at=now - timedelta(days=9),
        updated_at=now - timedelta(days=9),
    )

    # Transient rows the importer drops: a reset link and an e-mail verification.
    verification_tokens = [random_string(32), random_string(32)]
    rows.add(
        "verification",
        id=better_auth_id(),
        identifier=f"reset-password:{verification_tokens[0]}",
        value=alice.id,
        expires_at=now + timedelta(hours=1),
    )
    rows.add(
        "verification",
        id=better_auth_id(),
        identifier=users["dave"].email,
        value=verification_tokens[1],
        expires_at=now + timedelta(days=1),
    )

    # Signing keys: the newest signs the old token; an older one is still in the table.
    signing_keys = [
        OldSigningKey(kid=better_auth_id(), private_key=Ed25519PrivateKey.generate(), created_at=now - timedelta(days=10)),
        OldSigningKey(kid=better_auth_id(), private_key=Ed25519PrivateKey.generate(), created_at=now - timedelta(days=200)),
    ]
    for signing_key in reversed(signing_keys):
        rows.add(
            "jwks",
            id=signing_key.kid,
            public_key=signing_key.public_jwk(),
            private_key=signing_key.sealed_private_jwk(secret),
            created_at=signing_key.created_at,
        )

    # Second factors: bob's is on; erin's row is an enrolment she never finished.
    totp_secrets = {"bob": new_totp_secret(), "erin": new_totp_secret()}
    backup_codes = {"bob": new_backup_codes(), "erin": new_backup_codes()}
    for key in ("bob", "erin"):
        rows.add(
            "two_factor_auth",
            id=better_auth_id(),
            user_id=users[key].id,
            secret=envelope_seal(secret, totp_secrets[key]),
            backup_codes=envelope_seal(secret, json.dumps(backup_codes[key])),
            enabled=False,  # the library never wrote this column; users.two_factor_enabled is the flag
        )

    # Carol's passkey; the authenticator's count continues above the stored counter.
    authenticator = SoftAuthenticator(aaguid=PASSKEY_AAGUID.bytes)
    passkey = passkey_register(authenticator, carol.email, carol.name)
    authenticator.set_sign_count(passkey.credential_id, PASSKEY_COUNTER)
    rows.add(
        "passkeys",
        id=better_auth_id(),
        name="Carol's laptop",
        public_key=passkey.public_key,
        user_id=carol.id,
        credential_id=passkey.credential_id,
        counter=PASSKEY_COUNTER,
        device_type="singleDevice",
        backed_up=False,
        transports="internal,hybrid",
        aaguid=passkey.aaguid,
        created_at=now - timedelta(days=60),
    )

    # Alice's team space, made through the old library: its metadata is a jsonb string holding JSON.
    team_space_id, team_slug = better_auth_id(), "archer-studio"
    rows.add(
        "organizations",
        id=team_space_id,
        name="Archer Studio",
        slug=team_slug,
        logo="https://cdn.example.com/logos/archer.png",
        metadata=Jsonb(json.dumps({"type": "team"})),  # = to_jsonb('{"type":"team"}'::text)
        created_at=now - timedelta(days=100),
    )
    team_member_ids = {"alice": better_auth_id(), "bob": better_auth_id()}
    for key, role, days in (("alice", "owner", 100), ("bob", "admin", 90)):
        rows.add(
            "members",
            id=team_member_ids[key],
            organization_id=team_space_id,
            user_id=users[key].id,
            role=role,
            created_at=now - timedelta(days=days),
        )
    dangling_member_id = better_auth_id()
    # members.user_id has no foreign key: this one names a user deleted long ago.
    rows.add(
        "members",
        id=dangling_member_id,
        organization_id=team_space_id,
        user_id=better_auth_id(),
        role="member",
        created_at=now - timedelta(days=80),
    )

    invitee = "frank@example.com"
    invitations = {"pending": better_auth_id(), "accepted": better_auth_id(), "canceled": better_auth_id()}
    # (status, email, role): carol accepted once and has since left; erin's was withdrawn. Neither
    # has expired, so only the status keeps them from being accepted.
    for status, email, role in (("pending", invitee, "member"), ("accepted", carol.email, "member"), ("canceled", erin.email, "admin")):
        rows.add(
            "invitations",
            id=invitations[status],
            organization_id=team_space_id,
            email=email,
            role=role,
            status=status,
            expires_at=now + timedelta(days=7),
            inviter_id=alice.id,
            created_at=now - timedelta(days=1),
        )

    api_key, api_key_id, api_key_scopes = api_key_new(), better_auth_id(), ["stt", "tts"]
    rows.add(
        "api_keys",
        id=api_key_id,
        user_id=alice.id,
        name="speech service",
        key_prefix=api_key[:12],
        key_hash=hashlib.sha256(api_key.encode()).hexdigest(),
        scopes=Jsonb(api_key_scopes),
        rate_limit_requests=120,
        rate_limit_window=60,
        created_at=now - timedelta(days=50),
        last_used_at=now - timedelta(days=2),
        revoked_at=None,
    )

    # Vaults: alice's behind the server KEK, zoe's zero-knowledge (recovery wrap only).
    master_key = secrets.token_bytes(32)
    wrapped_mk, wrap_iv = vault_wrap(kek, master_key)
    rows.add(
        "encryption_vaults",
        user_id=alice.id,
        wrapped_mk=wrapped_mk,
        wrap_iv=wrap_iv,
        format_version=1,
        kek_id=VAULT_KEK_ID,
        zero_knowledge=False,
        created_at=now - timedelta(days=300),
    )
    # The client wraps with a key from the recovery code; the server only ever sees the result.
    zoe_recovery_iv = secrets.token_bytes(12)
    zoe_recovery_wrapped_mk = AESGCM(AESGCM.generate_key(bit_length=256)).encrypt(zoe_recovery_iv, secrets.token_bytes(32), None)
    rows.add(
        "encryption_vaults",
        user_id=zoe.id,
        wrapped_mk=None,
        wrap_iv=None,
        format_version=1,
        kek_id=None,
        recovery_wrapped_mk=base64.b64encode(zoe_recovery_wrapped_mk).decode(),
        recovery_iv=base64.b64encode(zoe_recovery_iv).decode(),
        recovery_format_version=1,
        recovery_set_at=now - timedelta(days=20),
        zero_knowledge=True,
        created_at=now - timedelta(days=250),
    )
    for owner, action, http_status in ((alice, "init", 200), (alice, "fetch", 200), (zoe, "zk_enable", 200)):
        rows.add(
            "encryption_vault_audit",
            user_id=owner.id,
            action=action,
            ip_address="198.51.100.7",
            user_agent="old web app",
            context=Jsonb({"source": "web"}),
            status=http_status,
            created_at=now - timedelta(days=20),
        )

    user_settings = {
        "global_settings": {
            "nav": {"desktopPosition": "left", "sidebarCollapsed": True},
            "theme": {"mode": "dark", "colorScheme": "forest"},
            "locale": "en",
        },
        "app_overrides": {"todo": {"theme": {"mode": "light"}}},
        "device_settings": {
            "laptop-1": {
                "deviceName": "Alice's laptop",
                "deviceType": "desktop",
                "lastSeen": "2025-01-01T10:00:00Z",
                "apps": {"todo": {"compact": True}},
            }
        },
    }
    rows.add("user_settings", user_id=alice.id, **{name: Jsonb(document) for name, document in user_settings.items()})

    security_events: list[tuple[str | None, str, str]] = [
        ("alice", "login_success", "198.51.100.7"),
        ("alice", "password_changed", "198.51.100.9"),
        ("bob", "two_factor_enabled", "203.0.113.20"),
        (None, "login_failure", "203.0.113.66"),  # an unknown address: no user
    ]
    for number, (subject, event_type, ip_address) in enumerate(security_events):
        rows.add(
            "security_events",
            id=better_auth_id(),
            user_id=users[subject].id if subject else None,
            event_type=event_type,
            ip_address=ip_address,
            user_agent="old web app",
            metadata=Jsonb({"method": "password"} if event_type.startswith("login") else {}),
            created_at=now - timedelta(days=40 - number),
        )
    for email, successful in ((alice.email, True), (alice.email, False), ("nobody@example.com", False)):
        rows.add(
            "login_attempts",
            id=better_auth_id(),
            email=email,
            ip_address="203.0.113.66",
            successful=successful,
            attempted_at=now - timedelta(days=3),
        )

    persona_archetype, persona_cadence, persona_module_mix = "curious-student", "weekdays", {"notes": 0.6, "todo": 0.4}
    rows.add(
        "personas",
        user_id=persona.id,
        archetype=persona_archetype,
        system_prompt="You are a curious student who takes notes on everything.",
        module_mix=Jsonb(persona_module_mix),
        tick_cadence=persona_cadence,
        last_active_at=now - timedelta(days=2),
        created_at=now - timedelta(days=100),
        updated_at=now - timedelta(days=2),
    )
    for number, (tool, result) in enumerate((("notes.create", "ok"), ("todo.complete", "error"))):
        rows.add(
            "persona_actions",
            id=better_auth_id(),
            persona_id=persona.id,
            tick_id="tick-2025-01-01",
            tool_name=tool,
            input_hash=hashlib.sha256(tool.encode()).hexdigest(),
            result=result,
            error_message="no such todo" if result == "error" else None,
            latency_ms=120 + number,
            created_at=now - timedelta(days=2),
        )
    rows.add(
        "persona_feedback",
        id=better_auth_id(),
        persona_id=persona.id,
        tick_id="tick-2025-01-01",
        module="notes",
        rating=4,
        notes="Quick to capture, slow to search.",
        created_at=now - timedelta(days=2),
    )

    rows.insert(conn)
    conn.commit()

    return World(
        dsn=dsn,
        secret=secret,
        secret_file=secret_file,
        users=users,
        totp_secrets=totp_secrets,
        backup_codes=backup_codes,
        authenticator=authenticator,
        passkey=passkey,
        passkey_counter=PASSKEY_COUNTER,
        signing_keys=signing_keys,
        old_token=signing_keys[0].mint(_old_claims(alice, live_session_id)),
        live_session_id=live_session_id,
        live_session_token=live_session_token,
        expired_session_token=expired_session_token,
        api_key=api_key,
        api_key_id=api_key_id,
        api_key_scopes=api_key_scopes,
        master_key=master_key,
        zoe_recovery_wrapped_mk=zoe_recovery_wrapped_mk,
        zoe_recovery_iv=zoe_recovery_iv,
        team_space_id=team_space_id,
        team_slug=team_slug,
        team_member_ids=team_member_ids,
        invitations=invitations,
        invitee=invitee,
        dangling_member_id=dangling_member_id,
        github_account_id=github_account_id,
        settings=user_settings,
        security_events=security_events,
        persona_archetype=persona_archetype,
        persona_cadence=persona_cadence,
        persona_module_mix=persona_module_mix,
        verification_tokens=verification_tokens,
    )


def source_rows(dsn: str, table: str, user_ids: Iterable[str] = ()) -> list[tuple[Any, ...]]:
    """A source table's rows; for a vault table, those of `user_ids`, each read as its user."""
    statement = sql.SQL("SELECT * FROM auth.{}").format(sql.Identifier(table))
    with psycopg.connect(dsn) as conn:
        if table not in RLS_TABLES:
            return conn.execute(statement).fetchall()
        found: list[tuple[Any, ...]] = []
        for user_id in user_ids:
            with conn.transaction():
                conn.execute("SELECT set_config('app.current_user_id', %s, true)", [user_id])
                found.extend(conn.execute(statement).fetchall())
        return found
