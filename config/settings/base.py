"""Settings for every environment. Every environment variable of the service is read here, once.

Development works with no environment at all; each insecure default it falls back to is recorded
in MANA_INSECURE_DEFAULTS and logged loudly at start-up (core.apps). Production hardening lives
in production.py, and core.checks refuses to start a misconfigured production process.
"""

import base64
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.FileAwareEnv()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
IS_PRODUCTION = DJANGO_ENV == "production"

MANA_INSECURE_DEFAULTS: list[str] = []
# Variables production may not run without; core.checks names each one that is missing.
MANA_MISSING_PRODUCTION_VARIABLES: list[str] = []


def _required_in_production(name: str, dev_default: str, *, insecure: bool) -> str:
    """A variable production cannot run without; development falls back to `dev_default`."""
    value: str = env.str(name, default="")
    if value:
        return value
    MANA_MISSING_PRODUCTION_VARIABLES.append(name)
    if insecure:
        MANA_INSECURE_DEFAULTS.append(name)
    return dev_default


DEV_SECRET_KEY = "dev-insecure-secret-key-" + "x" * 40
DEV_SERVICE_KEY = "dev-service-key"
DEV_KEK = base64.b64encode(bytes(32)).decode()

SECRET_KEY = _required_in_production("DJANGO_SECRET_KEY", DEV_SECRET_KEY, insecure=True)
DEBUG = env.bool("DJANGO_DEBUG", default=not IS_PRODUCTION)
_allowed_hosts = _required_in_production("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]", insecure=False)
ALLOWED_HOSTS = [host.strip() for host in _allowed_hosts.split(",") if host.strip()]

PREPARE_THRESHOLD = 5  # psycopg's own default: a statement is prepared on its fifth run on a connection
DATABASE_URL = _required_in_production("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}", insecure=False)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# A health check costs a round trip per request (a third of a token check under load); without it a
# connection that died is noticed by its first failing query, answered 503, and replaced.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast instead of hanging a worker when the database is unreachable.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
    # Parameters bound by the server and psycopg's prepared statements: a statement a connection
    # has run before skips PostgreSQL's parse and plan (refresh and vault key +20 % in `make bench`).
    # Off behind a pooler that cannot keep prepared statements (PgBouncer in transaction mode
    # before 1.21).
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"] |= {"server_side_binding": True, "prepare_threshold": PREPARE_THRESHOLD}

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "mana-auth",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

BASE_URL = env.str("BASE_URL", default="http://localhost:8000").rstrip("/")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="mana")
# The `iss` of our tokens and what we accept on them: sibling services pin the internal URL.
JWT_ISSUER = env.str("JWT_ISSUER", default="") or BASE_URL

MANA_AUTH_KEK = _required_in_production("MANA_AUTH_KEK", DEV_KEK, insecure=True)
MANA_AUTH_KEK_ID = env.str("MANA_AUTH_KEK_ID", default="env-v1")
MANA_AUTH_OLD_KEKS = env.str("MANA_AUTH_OLD_KEKS", default="")

MANA_SERVICE_KEY = _required_in_production("MANA_SERVICE_KEY", DEV_SERVICE_KEY, insecure=True)
# Production must deliver mail somewhere: without it nobody could verify an address or reset a password.
MANA_NOTIFY_URL = _required_in_production("MANA_NOTIFY_URL", "", insecure=False).rstrip("/")
# A slow notification service must not hold a request for long: the outbox retries later.
MANA_NOTIFY_TIMEOUT = min(env.float("MANA_NOTIFY_TIMEOUT", default=5.0), 5.0)
# First attempts at mail and service calls: "thread" (after the response, in a small pool of
# threads) or "inline" (in the request, right after commit: the test suite).
MAIL_DELIVERY = "thread"
# Sibling services told about registrations and erasures (PLATFORM.md §10); unset skips their calls.
MANA_CREDITS_URL = env.str("MANA_CREDITS_URL", default="").rstrip("/")
MANA_MAIL_URL = env.str("MANA_MAIL_URL", default="").rstrip("/")
# The first attempt of a queued call runs right after the request's commit: a hanging service must not hold it long.
MANA_SERVICE_CALL_TIMEOUT = min(env.float("MANA_SERVICE_CALL_TIMEOUT", default=2.0), 5.0)
MANA_AI_PUBLIC_KEY_PEM = env.str("MANA_AI_PUBLIC_KEY_PEM", default="", multiline=True)

# The origins trusted with cookies and redirects: production names its own, never the development web app's.
_cors_origins = _required_in_production("CORS_ORIGINS", "http://localhost:5173", insecure=False)
CORS_ORIGINS = [origin.strip() for origin in _cors_origins.split(",") if origin.strip()]
COOKIE_DOMAIN = env.str("COOKIE_DOMAIN", default="") or None
# PLATFORM.md §2: the RP ID falls back to the shared cookie domain (the apps' common parent), and
# passkeys may be used on this service's pages and on the trusted web apps alike.
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="") or (COOKIE_DOMAIN or "").lstrip(".") or (urlsplit(BASE_URL).hostname or "localhost")
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="Mana")
WEBAUTHN_ORIGINS = env.list("WEBAUTHN_ORIGIN", default=[BASE_URL, *CORS_ORIGINS])
PASSKEYS_ENABLED = env.bool("PASSKEYS_ENABLED", default=True)
ADMIN_REQUIRE_2FA = env.bool("ADMIN_REQUIRE_2FA", default=IS_PRODUCTION)

# The web app: invitation links and the redirect target when a caller names an untrusted one.
WEB_APP_URL = (env.str("WEB_APP_URL", default="") or (CORS_ORIGINS[0] if CORS_ORIGINS else BASE_URL)).rstrip("/")

# Mail goes to the notification service when it is configured, else to the console; either way
# it is kept in the outbox first (mail.services).
MAILERS = {
    "default": {
        "BACKEND": "mail.backend.NotifyEmailBackend" if MANA_NOTIFY_URL else "django.core.mail.backends.console.EmailBackend",
    }
}

SENTRY_DSN = env.str("GLITCHTIP_DSN", default="") or env.str("SENTRY_DSN", default="")
MAX_DAILY_SIGNUPS = env.int("MAX_DAILY_SIGNUPS", default=0)
# Days an erased user's security events are kept, anonymised; 0 deletes them with the account.
SECURITY_EVENT_RETENTION_DAYS = env.int("SECURITY_EVENT_RETENTION_DAYS", default=90)
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# The client networks /metrics answers (PLATFORM.md §11); a malformed entry stops the start.
METRICS_ALLOWED_NETWORKS = [
    ipaddress.ip_network(network)
    for network in env.list(
        "METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
    )
]

# --- Django -----------------------------------------------------------------------------------
INSTALLED_APPS = [
    "console.admin_config.ManaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",  # the OpenID Connect provider, its models swapped for those of oidc
    # The project's apps, from the ground up (DESIGN.md §Layout; lint-imports checks the layers).
    "core",
    "mail",
    "accounts",
    "passkeys",
    "vault",
    "spaces",
    "personas",
    "grants",
    "oidc",
    "pages",
    "console",
    "takeover",
]

MIDDLEWARE = [
    "core.metrics.MetricsMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.ApiHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # core.middleware_browser: API, health and metrics requests skip these three.
    "core.middleware_browser.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the API too: DRF's messages follow Accept-Language
    "django.middleware.common.CommonMiddleware",
    "core.middleware.NulRefusalMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.middleware_browser.AuthenticationMiddleware",
    "core.middleware_browser.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

PASSWORD_HASHERS = [
    "accounts.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # The old identity service's scrypt hashes: verified once, then re-hashed with Argon2id.
    "accounts.hashers.BetterAuthScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "de"
LANGUAGES = [("de", "Deutsch"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "/login"
SESSION_COOKIE_HTTPONLY = True
# Cross-subdomain single sign-on needs the cookie on sibling origins: SameSite=None (Secure) then.
SESSION_COOKIE_SAMESITE = "None" if COOKIE_DOMAIN else "Lax"
SESSION_COOKIE_DOMAIN = COOKIE_DOMAIN
CSRF_COOKIE_DOMAIN = COOKIE_DOMAIN
X_FRAME_OPTIONS = "DENY"
# Strict: no inline script or style anywhere, so the pages ship one small file per feature.
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    # After sign-in a form may redirect to an allowed web app; browsers hold redirects to this too.
    "form-action": [CSP.SELF, *CORS_ORIGINS],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- REST framework and OpenAPI ---------------------------------------------------------------
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    # What UserView (core.api) authenticates with: the Bearer access token of accounts.
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "mana-auth",
    "DESCRIPTION": "Identity service of the Mana platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["core.schema.drop_trailing_slash_twins"],
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.models.Role",
        "MemberRoleEnum": "spaces.models.MemberRole",
        "DecryptStatusEnum": "grants.models.DecryptStatus",
        "InvitationStatusEnum": "spaces.models.Invitation.Status",
    },
}

# --- "Sign in with Mana": the OpenID Connect provider (django-oauth-toolkit, app oidc) ---------
# Every model swapped for one of oidc's before its first migration, so the provider's tables are ours.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oidc.Application"
OAUTH2_PROVIDER_GRANT_MODEL = "oidc.Grant"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oidc.AccessToken"  # noqa: S105 - a model name, not a secret
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oidc.RefreshToken"  # noqa: S105 - a model name, not a secret
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oidc.IDToken"  # noqa: S105 - a model name, not a secret
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oidc.DeviceGrant"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": JWT_ISSUER,
    "OAUTH2_VALIDATOR_CLASS": "oidc.validator.ManaValidator",
    "SCOPES": {"openid": "OpenID Connect", "email": "Email address", "profile": "Name", "offline_access": "Offline access"},
    "DEFAULT_SCOPES": ["openid"],
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 900,
    "ID_TOKEN_EXPIRE_SECONDS": 900,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # Development and tests register http callbacks; production takes https ones only.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if IS_PRODUCTION else ["http", "https"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,  # oidc's logout revokes the tokens of that client alone
    "APPLICATION_ADMIN_CLASS": "oidc.admin.ClientAdmin",
    "ACCESS_TOKEN_ADMIN_CLASS": "oidc.admin.AccessTokenAdmin",
    "GRANT_ADMIN_CLASS": "oidc.admin.GrantAdmin",
    "ID_TOKEN_ADMIN_CLASS": "oidc.admin.IDTokenAdmin",
    "REFRESH_TOKEN_ADMIN_CLASS": "oidc.admin.RefreshTokenAdmin",
    # RFC 9700 throughout: no implicit or password grant, S256 only, tokens hashed at rest, `iss` in
    # the authorization response, bearer tokens never in a query string; anything weaker is an error.
    **dict.fromkeys(
        [
            "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT",
            "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT",
            "COMPLIANT_BCP_RFC9700_PKCE_METHOD",
            "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT",
            "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS",
            "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE",
            "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN",
            "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING",
            "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED",
        ],
        True,
    ),
}

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}, "scrub_secrets": {"()": "core.logging.SecretScrubFilter"}},
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
        "readable": {"format": "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "scrub_secrets"],
            "formatter": "json" if IS_PRODUCTION else "readable",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's default handlers, whose mail_admins reporter renders every frame's local
        # variables: a QuerySet among them runs its query again, inside a failed transaction.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

# --- Error tracking (before any app loads) ----------------------------------------------------
if SENTRY_DSN:
    from config.sentry import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=DJANGO_ENV)
