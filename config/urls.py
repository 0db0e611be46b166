from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import me_urls
from accounts.api.auth import JwksView
from accounts.api.user_settings import SettingsView
from core.api import ApiNotFoundView, HealthView, ReadyView
from core.metrics import metrics_view
from core.urls import route
from grants import urls as grants_urls
from oidc.views import DiscoveryView as OidcDiscoveryView
from passkeys.api import PasskeyListView
from personas import urls as personas_urls
from spaces import urls as spaces_urls
from spaces import urls_organizations as organization_urls
from spaces.api import ApiKeyListView, SpaceListView
from spaces.api_bootstrap import SingletonsBootstrapView

DOCS_CSP: dict[str, list[str]] = {**settings.SECURE_CSP, "style-src": [CSP.SELF.value, CSP.UNSAFE_INLINE.value]}

urlpatterns = [
    *route("health", HealthView.as_view(), name="health"),
    *route("health/ready", ReadyView.as_view(), name="health-ready"),
    *route("metrics", metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so scripts stay strict here too; only
    # Swagger UI's own inline styles are let in, on this page alone.
    path("api/docs/", csp_override(DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", RedirectView.as_view(url="/account", permanent=False)),
    # Passkeys first: "passkeys/…" must not be taken for an accounts route.
    *route("api/v1/auth/passkeys", PasskeyListView.as_view()),
    path("api/v1/auth/passkeys/", include("passkeys.urls")),
    path("api/v1/auth/organizations/", include(organization_urls.detail_urlpatterns)),
    path("api/v1/auth/", include("accounts.urls")),
    # The Better Auth-style door the platform's clients call (PLATFORM.md §3).
    path("api/auth/", include("accounts.urls_better_auth")),
    path("api/v1/me/encryption-vault/", include("vault.urls")),
    path("api/v1/admin/", include("console.urls")),
    path("api/v1/admin/", include(personas_urls.admin_urlpatterns)),
    *route("api/v1/me/bootstrap-singletons", SingletonsBootstrapView.as_view()),
    path("api/v1/me/", include(grants_urls.me_urlpatterns)),
    path("api/v1/me/", include(me_urls.me_urlpatterns)),
    *route("api/v1/settings", SettingsView.as_view()),
    path("api/v1/settings/", include(me_urls.settings_urlpatterns)),
    path("api/v1/internal/", include(grants_urls.internal_urlpatterns)),
    path("api/v1/internal/", include(spaces_urls.internal_urlpatterns)),
    path("api/v1/internal/", include(personas_urls.internal_urlpatterns)),
    *route("api/v1/spaces", SpaceListView.as_view()),
    path("api/v1/spaces/", include(spaces_urls.space_urlpatterns)),
    *route("api/v1/api-keys", ApiKeyListView.as_view()),
    path("api/v1/api-keys/", include(spaces_urls.api_key_urlpatterns)),
    *route(".well-known/jwks.json", JwksView.as_view()),
    # "Sign in with Mana": the OpenID Connect provider.
    path(".well-known/openid-configuration", OidcDiscoveryView.as_view(), name="openid-configuration"),
    path("oauth/", include("oidc.urls")),
    path("api/auth/organization/", include("spaces.urls_organizations")),
    # The pages after the API: an API request is resolved without trying each page first.
    path("", include("pages.urls")),
    # Last: whatever else is under /api/ is a JSON 404, in DEBUG too.
    re_path(r"^api/", ApiNotFoundView.as_view()),
]

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
