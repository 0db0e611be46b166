from accounts.api import better_auth
from core.urls import route

urlpatterns = [
    *route("sign-in/email", better_auth.SignInEmailView.as_view()),
    *route("get-session", better_auth.GetSessionView.as_view()),
    *route("jwks", better_auth.JwksView.as_view()),
    *route("two-factor/enable", better_auth.TwoFactorEnableView.as_view()),
    *route("two-factor/disable", better_auth.TwoFactorDisableView.as_view()),
    *route("two-factor/verify-totp", better_auth.VerifyTotpView.as_view()),
    *route("two-factor/verify-backup-code", better_auth.VerifyBackupCodeView.as_view()),
    *route("two-factor/generate-backup-codes", better_auth.BackupCodesView.as_view()),
    *route("magic-link/send-magic-link", better_auth.MagicLinkSendView.as_view()),
    *route("sign-in/magic-link", better_auth.MagicLinkSendView.as_view()),
    *route("magic-link/verify", better_auth.MagicLinkVerifyView.as_view()),
    *route("verify-email", better_auth.VerifyEmailLinkView.as_view()),
    *route("reset-password/<str:token>", better_auth.ResetPasswordLinkView.as_view()),
]
