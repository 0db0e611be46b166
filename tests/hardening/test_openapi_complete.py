"""Every route of the HTTP contract (API.md) is in the OpenAPI document, with its request body,
its success body, and the error envelope for its error statuses."""

import re

from drf_spectacular.generators import SchemaGenerator

CONTRACT = """
GET /health · GET /health/ready
GET /api/v1/auth/signup-status · POST /api/v1/auth/register · POST /api/v1/auth/verify-email
POST /api/v1/auth/resend-verification · POST /api/v1/auth/login · POST /api/v1/auth/two-factor/verify
POST /api/v1/auth/refresh · POST /api/v1/auth/session-to-token · POST /api/v1/auth/logout · POST /api/v1/auth/validate
GET /api/v1/auth/jwks · GET /.well-known/jwks.json
POST /api/v1/auth/forgot-password · POST /api/v1/auth/reset-password · GET /api/v1/auth/profile · POST /api/v1/auth/profile
POST /api/v1/auth/change-email · POST /api/v1/auth/confirm-email-change · POST /api/v1/auth/change-password
DELETE /api/v1/auth/account · GET /api/v1/auth/sessions · DELETE /api/v1/auth/sessions/{} · GET /api/v1/auth/security-events
POST /api/v1/auth/magic-link · POST /api/v1/auth/magic-link/verify · POST /api/v1/auth/two-factor/enable
POST /api/v1/auth/two-factor/confirm · POST /api/v1/auth/two-factor/disable · POST /api/v1/auth/two-factor/backup-codes
GET /api/v1/auth/passkeys/capability · POST /api/v1/auth/passkeys/register/options · POST /api/v1/auth/passkeys/register/verify
POST /api/v1/auth/passkeys/authenticate/options · POST /api/v1/auth/passkeys/authenticate/verify · GET /api/v1/auth/passkeys
PATCH /api/v1/auth/passkeys/{} · DELETE /api/v1/auth/passkeys/{}
GET /api/v1/me/encryption-vault/status · POST /api/v1/me/encryption-vault/init · GET /api/v1/me/encryption-vault/key
POST /api/v1/me/encryption-vault/rotate · POST /api/v1/me/encryption-vault/recovery-wrap · DELETE /api/v1/me/encryption-vault/recovery-wrap
POST /api/v1/me/encryption-vault/zero-knowledge
POST /api/v1/me/ai-mission-grant · GET /api/v1/me/ai-mission-grants · DELETE /api/v1/me/ai-mission-grants/{} · GET /api/v1/me/ai-audit
GET /api/v1/internal/grants/{} · POST /api/v1/internal/decrypt-audit
GET /api/v1/spaces/types · GET /api/v1/spaces · POST /api/v1/spaces · GET /api/v1/spaces/{} · PATCH /api/v1/spaces/{}
DELETE /api/v1/spaces/{} · GET /api/v1/spaces/{}/members · POST /api/v1/spaces/{}/invitations
POST /api/v1/spaces/invitations/{}/accept · PATCH /api/v1/spaces/{}/members/{} · DELETE /api/v1/spaces/{}/members/{}
GET /api/v1/spaces/{}/modules/{}
GET /api/v1/internal/org/{}/member/{} · GET /api/v1/internal/users/{}/memberships
GET /api/v1/api-keys · POST /api/v1/api-keys · DELETE /api/v1/api-keys/{} · POST /api/v1/api-keys/validate
GET /api/v1/me/data · GET /api/v1/me/data/export · DELETE /api/v1/me/data · PATCH /api/v1/me/profile
GET /api/v1/me/onboarding · POST /api/v1/me/onboarding/complete · PATCH /api/v1/me/onboarding/reset
GET /api/v1/settings · PATCH /api/v1/settings/global · PATCH /api/v1/settings/app/{} · DELETE /api/v1/settings/app/{}
PATCH /api/v1/settings/device/{}/{} · GET /api/v1/settings/devices · DELETE /api/v1/settings/device/{}
GET /api/v1/admin/stats · GET /api/v1/admin/users · GET /api/v1/admin/users/{}/data · DELETE /api/v1/admin/users/{}/data
POST /api/v1/admin/users/{}/unlock
"""
# Routes whose input is their path, or nothing (API.md shows no body for them).
NO_BODY = {"/api/v1/auth/session-to-token", "/api/v1/auth/passkeys/register/options", "/api/v1/me/encryption-vault/init",
           "/api/v1/me/encryption-vault/rotate", "/api/v1/spaces/invitations/{}/accept", "/api/v1/me/onboarding/complete",
           "/api/v1/me/onboarding/reset", "/api/v1/admin/users/{}/unlock"}  # fmt: skip


def contract() -> list[tuple[str, str]]:
    return [tuple(item.strip().split(" ", 1)) for item in re.split(r"·|\n", CONTRACT) if item.strip()]


def documented() -> dict[tuple[str, str], dict]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path)): operation
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }


def test_every_contract_route_is_documented() -> None:
    operations = documented()
    assert len(contract()) == 89
    missing = [route for route in contract() if route not in operations]
    assert missing == []


def test_bodies_and_error_envelopes_are_documented() -> None:
    operations = documented()
    for method, path in contract():
        operation = operations[(method, path)]
        responses = operation["responses"]
        success = [status for status in responses if status.startswith("2")]
        assert success, (method, path)
        assert "content" in responses[success[0]], (method, path)
        if method in ("POST", "PATCH") and path not in NO_BODY:
            assert "requestBody" in operation, (method, path)
        if path.startswith(("/api/v1/", "/health/ready")) and not path.endswith(("/capability", "/types", "/jwks", "/signup-status")):
            errors = [status for status in responses if status[0] in "45"]
            assert errors, (method, path)
            for status in errors:
                reference = responses[status]["content"]["application/json"]["schema"]["$ref"]
                assert reference.endswith("/ErrorEnvelope"), (method, path, status)


# The platform's routes (PLATFORM.md), beyond API.md's: the Better Auth door, the organization
# API, personas and the bootstrap. The mailed links answer 302 and have no body to document.
PLATFORM_CONTRACT = """
POST /api/auth/sign-in/email · GET /api/auth/get-session · GET /api/auth/jwks
POST /api/auth/two-factor/enable · POST /api/auth/two-factor/disable · POST /api/auth/two-factor/verify-totp
POST /api/auth/two-factor/verify-backup-code · POST /api/auth/two-factor/generate-backup-codes
POST /api/auth/magic-link/send-magic-link · POST /api/auth/sign-in/magic-link
GET /api/auth/organization/list · POST /api/auth/organization/create · POST /api/auth/organization/set-active
GET /api/auth/organization/get-active-member · GET /api/auth/organization/list-members
GET /api/auth/organization/list-invitations · POST /api/auth/organization/invite-member
GET /api/auth/organization/get-invitation · POST /api/auth/organization/accept-invitation
POST /api/auth/organization/reject-invitation · POST /api/auth/organization/cancel-invitation
POST /api/auth/organization/remove-member
GET /api/v1/auth/organizations/{} · PUT /api/v1/auth/organizations/{}
POST /api/v1/admin/personas · GET /api/v1/admin/personas · DELETE /api/v1/admin/personas/{}
GET /api/v1/internal/personas/due · POST /api/v1/internal/personas/{}/actions · POST /api/v1/internal/personas/{}/feedback
POST /api/v1/me/bootstrap-singletons
"""
PLATFORM_LINKS = """GET /api/auth/magic-link/verify · GET /api/auth/verify-email · GET /api/auth/reset-password/{}"""


def test_every_platform_route_is_documented_with_its_success_body() -> None:
    operations = documented()
    routes = [tuple(item.strip().split(" ", 1)) for item in re.split(r"·|\n", PLATFORM_CONTRACT) if item.strip()]
    links = [tuple(item.strip().split(" ", 1)) for item in PLATFORM_LINKS.split("·")]
    assert [route for route in [*routes, *links] if route not in operations] == []
    for route in routes:
        responses = operations[route]["responses"]
        success = [status for status in responses if status.startswith("2")]
        assert success and "content" in responses[success[0]], route
