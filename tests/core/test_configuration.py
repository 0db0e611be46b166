import base64
import subprocess
import sys
from pathlib import Path

from tests.support import REPO, clean_env, manage, production_env


def test_production_deploy_check_is_clean_with_every_variable_set(tmp_path: Path) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_the_kek(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["MANA_AUTH_KEK"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "MANA_AUTH_KEK is not set; production refuses to start without it." in result.stderr


def test_production_names_each_missing_variable(tmp_path: Path) -> None:
    result = manage("check", env=clean_env(DJANGO_ENV="production"))
    assert result.returncode != 0
    for name in (
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "MANA_AUTH_KEK",
        "MANA_SERVICE_KEY",
        "MANA_NOTIFY_URL",
        "CORS_ORIGINS",
    ):
        assert f"{name} is not set" in result.stderr


def test_attack_production_without_cors_origins_does_not_trust_the_development_web_app(tmp_path: Path) -> None:
    """Left unset, production would trust http://localhost:5173 with cookies and redirects."""
    env = production_env(tmp_path)
    del env["CORS_ORIGINS"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "CORS_ORIGINS is not set; production refuses to start without it." in result.stderr


def test_production_refuses_the_development_service_key(tmp_path: Path) -> None:
    result = manage("check", env=production_env(tmp_path, MANA_SERVICE_KEY="dev-service-key"))
    assert result.returncode != 0
    assert "MANA_SERVICE_KEY still has its development value" in result.stderr


def test_wsgi_entry_point_refuses_a_misconfigured_production(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["MANA_AUTH_KEK"]
    result = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "MANA_AUTH_KEK is not set" in result.stderr


def test_malformed_kek_is_refused_in_development_too(tmp_path: Path) -> None:
    short = base64.b64encode(b"sixteen byte key").decode()
    result = manage("check", env=clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}", MANA_AUTH_KEK=short))
    assert result.returncode != 0
    assert "MANA_AUTH_KEK decodes to 16 bytes" in result.stderr


def test_development_starts_with_no_environment_and_warns_per_default(tmp_path: Path) -> None:
    result = manage("check", env=clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}"))
    assert result.returncode == 0, result.stderr
    for name in ("DJANGO_SECRET_KEY", "MANA_AUTH_KEK", "MANA_SERVICE_KEY"):
        assert result.stderr.count(f"INSECURE DEFAULT: {name} is not set") == 1


def test_secrets_may_come_from_files(tmp_path: Path) -> None:
    kek_file = tmp_path / "kek"
    kek_file.write_text(base64.b64encode(bytes(range(32))).decode())
    code = "from django.conf import settings; import django; django.setup(); print(settings.MANA_AUTH_KEK)"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=REPO,
        env=clean_env(DJANGO_SETTINGS_MODULE="config.settings.base", MANA_AUTH_KEK_FILE=str(kek_file)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == base64.b64encode(bytes(range(32))).decode()
    assert "INSECURE DEFAULT: MANA_AUTH_KEK" not in result.stderr


def test_passkeys_follow_the_shared_cookie_domain_and_the_trusted_web_apps(tmp_path: Path) -> None:
    """PLATFORM.md §2: RP ID from COOKIE_DOMAIN without its dot, origins from BASE_URL and CORS_ORIGINS."""
    env = production_env(tmp_path, BASE_URL="https://auth.mana.how", COOKIE_DOMAIN=".mana.how", CORS_ORIGINS="https://mana.how")
    printed = manage("shell", "-c", "from django.conf import settings; print(settings.WEBAUTHN_RP_ID, settings.WEBAUTHN_ORIGINS)", env=env)
    assert printed.stdout.strip().splitlines()[-1] == "mana.how ['https://auth.mana.how', 'https://mana.how']", printed.stderr
