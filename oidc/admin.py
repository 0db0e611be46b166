"""The provider in the operator console. django-oauth-toolkit registers its (our swapped) models
with the classes named in OAUTH2_PROVIDER["*_ADMIN_CLASS"], which are these: clients whose secret
is shown once, at creation or reset, and stored hashed; codes and tokens viewable, never their
values (they are kept hashed anyway), revocable by the library's actions. Consents and signing
keys are registered here, read-only, never a private key."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from oauth2_provider.models import revoke_access_token

from core.admin import ReadOnlyAdmin
from core.origin import origin_of
from oidc.models import AccessToken, Application, Consent, RefreshToken, RsaSigningKey
from oidc.services import client_registered, client_secret_new

NEW_SECRET = "_oidc_new_client_secret"  # noqa: S105 - the request attribute save_model leaves the secret in for the page that shows it


class ClientForm(forms.ModelForm):
    class Meta:
        model = Application
        fields = ("name", "client_type", "redirect_uris", "post_logout_redirect_uris")
        help_texts = {
            "redirect_uris": "Exact callback URIs, separated by spaces or lines.",
            "post_logout_redirect_uris": "Where the client may send the browser after signing out, separated by spaces.",
        }


class ClientAdmin(admin.ModelAdmin):
    form = ClientForm
    list_display = ("name", "client_id", "client_type", "created")
    list_filter = ("client_type",)
    search_fields = ("name", "client_id")
    readonly_fields = ("client_id", "created", "updated")
    radio_fields = {"client_type": admin.HORIZONTAL}
    view_on_site = False
    actions = ["reset_secret"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["name", "client_type", "redirect_uris", "post_logout_redirect_uris"]
        return fields if obj is None else ["client_id", *fields, "created", "updated"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A client's type decides whether it has a secret at all: it is chosen once.
        return ("client_id", "client_type", "created", "updated") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Application, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        setattr(request, NEW_SECRET, client_secret_new(obj))
        super().save_model(request, obj, form, change)
        client_registered(application=obj, actor_id=str(request.user.pk), origin=origin_of(request))

    def response_add(self, request: HttpRequest, obj: Application, post_url_continue: str | None = None) -> HttpResponse:
        return self._secret_page(request, obj, getattr(request, NEW_SECRET, None))

    @admin.action(description="Reset the client secret (shown once)")
    def reset_secret(self, request: HttpRequest, queryset: QuerySet[Application]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Reset one client's secret at a time.", messages.WARNING)
            return None
        application = queryset.get()
        if application.client_type == Application.CLIENT_PUBLIC:
            self.message_user(request, "A public client has no secret.", messages.WARNING)
            return None
        secret = client_secret_new(application)
        application.save(update_fields=["client_secret", "updated"])
        client_registered(application=application, actor_id=str(request.user.pk), origin=origin_of(request), reset=True)
        return self._secret_page(request, application, secret)

    def _secret_page(self, request: HttpRequest, application: Application, secret: str | None) -> HttpResponse:
        """The only time the secret is ever shown: rendered into this response, kept nowhere."""
        context = {**self.admin_site.each_context(request), "title": "Client registered", "application": application, "secret": secret}
        response = TemplateResponse(request, "oidc/admin_client_secret.html", context)
        response["Cache-Control"] = "no-store"
        return response


class _CredentialAdmin(ReadOnlyAdmin):
    """Viewable, never edited by hand; values never shown (stored hashed, or not at all)."""

    list_select_related = ("application", "user")
    list_filter = ("application",)
    search_fields = ("application__client_id", "application__name", "user__email")
    view_on_site = False


class AccessTokenAdmin(_CredentialAdmin):
    list_display = ("pk", "user", "application", "scope", "created", "expires")
    fields = ("user", "application", "scope", "created", "expires", "token_family")
    actions = ["revoke"]

    @admin.action(description="Revoke (with the refresh token it came with)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
        for token in queryset:
            revoke_access_token(token)
        self.message_user(request, "Revoked.", messages.SUCCESS)


class RefreshTokenAdmin(_CredentialAdmin):
    list_display = ("pk", "user", "application", "created", "revoked")
    fields = ("user", "application", "created", "revoked", "token_family")
    actions = ["revoke"]

    @admin.action(description="Revoke (with its access token)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[RefreshToken]) -> None:
        for token in queryset:
            token.revoke()  # kept as revoked, so a replay is still recognised
        self.message_user(request, "Revoked.", messages.SUCCESS)


class GrantAdmin(_CredentialAdmin):
    list_display = ("pk", "user", "application", "scope", "created", "expires", "used_at")
    fields = ("user", "application", "redirect_uri", "scope", "created", "expires", "used_at", "auth_time", "code_challenge_method")


class IDTokenAdmin(_CredentialAdmin):
    list_display = ("jti", "user", "application", "scope", "created", "expires")
    fields = ("jti", "user", "application", "scope", "created", "expires")


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("granted_at", "user", "application", "scope", "revoked_at")
    list_filter = ("application", "granted_at")
    search_fields = ("user__email", "application__name", "application__client_id")
    list_select_related = ("user", "application")


@admin.register(RsaSigningKey)
class RsaSigningKeyAdmin(ReadOnlyAdmin):
    list_display = ("kid", "created_at", "active", "retired_at")
    fields = ("kid", "public_jwk", "created_at", "active", "retired_at")  # never the private half
