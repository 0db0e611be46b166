from django.urls import path

from pages import views

urlpatterns = [
    path("login", views.login_page, name="login"),
    path("login/passkey", views.passkey_login),
    path("login/passkey/options", views.passkey_login_options),
    path("two-factor", views.two_factor_page),
    path("logout", views.logout_page),
    path("register", views.register_page),
    path("verify-email", views.verify_email_page),
    path("magic-link", views.magic_link_page),
    path("forgot-password", views.forgot_password_page),
    path("reset-password", views.reset_password_page),
    path("confirm-email-change", views.confirm_email_change_page),
    path("accept-invitation", views.accept_invitation_page),
    path("account", views.account_page),
    path("account/profile", views.account_profile),
    path("account/email", views.account_email),
    path("account/password", views.account_password),
    path("account/sessions/revoke-others", views.account_sessions_revoke_others),
    path("account/two-factor/enable", views.account_two_factor_enable),
    path("account/two-factor/confirm", views.account_two_factor_confirm),
    path("account/two-factor/disable", views.account_two_factor_disable),
    path("account/two-factor/backup-codes", views.account_backup_codes),
    path("account/passkeys/options", views.account_passkey_options),
    path("account/passkeys/verify", views.account_passkey_verify),
    path("account/passkeys/<str:passkey_id>/rename", views.account_passkey_rename),
    path("account/passkeys/<str:passkey_id>/delete", views.account_passkey_delete),
    path("account/apps/<str:consent_id>/revoke", views.account_consent_revoke),
]
