"""The shape of the project (DESIGN.md §Layout) that lint-imports cannot see: small modules, and
services that take values, never the request."""

import subprocess

from django.conf import settings

from tests.support import REPO

MODULE_LINES_MAX = 500
APPS = ("core", "mail", "accounts", "passkeys", "vault", "spaces", "personas", "grants", "oidc", "pages", "console", "takeover")


def project_modules() -> list[str]:
    """The project's tracked Python modules (git ls-files: what a clone holds)."""
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()  # noqa: S607
    assert listed
    return [path for path in listed if not path.startswith("tests/") and "/migrations/" not in path]


def test_every_layer_is_an_installed_app() -> None:
    installed = [app for app in settings.INSTALLED_APPS if app in APPS]
    assert installed == list(APPS)


def test_no_module_outside_migrations_and_tests_is_over_500_lines() -> None:
    long = {path: lines for path in project_modules() if (lines := len((REPO / path).read_text().splitlines())) > MODULE_LINES_MAX}
    assert long == {}


def test_no_services_module_takes_a_request() -> None:
    services = [path for path in project_modules() if path.endswith("/services.py") or "/services/" in path]
    assert "accounts/services/signin.py" in services
    assert [path for path in services if "HttpRequest" in (REPO / path).read_text()] == []
