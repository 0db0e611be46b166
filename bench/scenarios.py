"""The scenarios: what one load connection does per step, and the limit each is compared with."""

import itertools
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from bench.client import Connection, HttpError
from bench.load import Client, Step
from tests.passkeys.authenticator import SoftAuthenticator

HASH_BOUND = "hash bound"
HEALTH = "health"


@dataclass(frozen=True)
class Seeded:
    """What the seeding step left for the load generator (bench/seed.py)."""

    password: str
    emails: list[str]
    bearer: list[dict[str, str]]
    refresh: list[dict[str, str]]
    hash: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> "Seeded":
        return cls(**json.loads(path.read_text()))


@dataclass(frozen=True)
class Context:
    seeded: Seeded
    service_key: str
    origin: str  # BASE_URL, the WebAuthn origin


class Addresses:
    """A new client address per request for X-Forwarded-For (the server trusts one proxy), so the
    per-address rate limits see many clients, as in production, instead of one loopback address."""

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def header(self) -> dict[str, str]:
        number = next(self._next)
        return {"X-Forwarded-For": f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def require(condition: bool, what: str) -> None:
    if not condition:
        raise HttpError(f"unexpected answer: {what}")


class Scenario(ABC):
    name: ClassVar[str]
    limit: ClassVar[str] = HEALTH
    description: ClassVar[str]

    def __init__(self, context: Context) -> None:
        self.context = context

    async def prepare(self, connection: Connection, connections: int) -> None:  # noqa: B027 - a hook, empty on purpose
        """Set-up through the API before the scenario runs; most need none."""

    def steps(self, connections: int) -> list[Step]:
        return [self.step_for(slot) for slot in range(connections)]

    @abstractmethod
    def step_for(self, slot: int) -> Step:
        """The step connection `slot` repeats; its state (a token chain, say) lives in the closure."""


class Health(Scenario):
    name = "health"
    description = "GET /health: the framework's ceiling, no I/O"

    def step_for(self, slot: int) -> Step:
        async def step(client: Client) -> None:
            await client.timed("GET", "/health")

        return step


class Login(Scenario):
    name = "login"
    limit = HASH_BOUND
    description = "POST /api/v1/auth/login, rotating through all seeded users"

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.users = itertools.cycle(context.seeded.emails)
        self.addresses = Addresses()

    def step_for(self, slot: int) -> Step:
        async def step(client: Client) -> None:
            credentials = {"email": next(self.users), "password": self.context.seeded.password}
            response = await client.timed("POST", "/api/v1/auth/login", body=credentials, headers=self.addresses.header())
            require("accessToken" in response.json(), "no accessToken")

        return step


class Refresh(Scenario):
    name = "refresh"
    description = "POST /api/v1/auth/refresh; each connection follows its own rotating refresh token"

    def step_for(self, slot: int) -> Step:
        token = self.context.seeded.refresh[slot]["refreshToken"]

        async def step(client: Client) -> None:
            nonlocal token
            response = await client.timed("POST", "/api/v1/auth/refresh", body={"refreshToken": token})
            token = response.json()["refreshToken"]

        return step


class Validate(Scenario):
    name = "validate"
    description = "POST /api/v1/auth/validate with X-Service-Key: signature, claims and the session lookup"

    def step_for(self, slot: int) -> Step:
        body = {"token": self.context.seeded.bearer[slot]["accessToken"]}
        headers = {"X-Service-Key": self.context.service_key}

        async def step(client: Client) -> None:
            response = await client.timed("POST", "/api/v1/auth/validate", body=body, headers=headers)
            require(response.json()["valid"] is True, "token not valid")

        return step


class VaultKey(Scenario):
    name = "vault-key"
    description = "GET /api/v1/me/encryption-vault/key with a Bearer token: unwrap under the KEK, audit row"

    def step_for(self, slot: int) -> Step:
        headers = bearer(self.context.seeded.bearer[slot]["accessToken"])

        async def step(client: Client) -> None:
            response = await client.timed("GET", "/api/v1/me/encryption-vault/key", headers=headers)
            require("masterKey" in response.json(), "no masterKey")

        return step


class PasskeyVerify(Scenario):
    name = "passkey-verify"
    description = "POST /api/v1/auth/passkeys/authenticate/verify (timed) after its options request (untimed)"

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.authenticators: list[SoftAuthenticator] = []
        self.addresses = Addresses()

    async def prepare(self, connection: Connection, connections: int) -> None:
        """One credential per connection, registered through the API; a connection uses only its own,
        so the counting authenticator's sign counts reach the server in order."""
        for slot in range(connections):
            headers = bearer(self.context.seeded.bearer[slot]["accessToken"])
            options = (await connection.request("POST", "/api/v1/auth/passkeys/register/options", headers=headers)).json()
            authenticator = SoftAuthenticator()
            response = authenticator.create(options=options, origin=self.context.origin)
            await connection.request(
                "POST", "/api/v1/auth/passkeys/register/verify", body={"response": response}, headers=headers, expect=201
            )
            self.authenticators.append(authenticator)

    def step_for(self, slot: int) -> Step:
        authenticator = self.authenticators[slot]

        async def step(client: Client) -> None:
            address = self.addresses.header()
            options = (await client.untimed("POST", "/api/v1/auth/passkeys/authenticate/options", body={}, headers=address)).json()
            assertion = authenticator.get(
                options=options, origin=self.context.origin, credential_id=authenticator.credentials[0].credential_id
            )
            response = await client.timed(
                "POST", "/api/v1/auth/passkeys/authenticate/verify", body={"response": assertion}, headers=address
            )
            require("accessToken" in response.json(), "no accessToken")

        return step


class Grant(Scenario):
    name = "grant"
    description = "POST /api/v1/me/ai-mission-grant: master key unwrap, mission key derivation, RSA-OAEP wrap, registry row"

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.missions = itertools.count(1)

    def step_for(self, slot: int) -> Step:
        headers = bearer(self.context.seeded.bearer[slot]["accessToken"])

        async def step(client: Client) -> None:
            body = {"missionId": f"bench-{next(self.missions)}", "tables": ["notes"], "recordIds": ["notes:1", "notes:2", "notes:3"]}
            response = await client.timed("POST", "/api/v1/me/ai-mission-grant", body=body, headers=headers)
            require("wrappedKey" in response.json(), "no wrappedKey")

        return step


SCENARIOS: dict[str, type[Scenario]] = {
    scenario.name: scenario for scenario in (Health, Login, Refresh, Validate, VaultKey, PasskeyVerify, Grant)
}
