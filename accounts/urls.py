from accounts import api
from core.urls import route

urlpatterns = [
    *route("signup-status", api.SignupStatusView.as_view()),
    *route("register", api.RegisterView.as_view()),
    *route("verify-email", api.VerifyEmailView.as_view()),
    *route("resend-verification", api.ResendVerificationView.as_view()),
    *route("login", api.LoginView.as_view()),
    *route("refresh", api.RefreshView.as_view()),
    *route("session-to-token", api.SessionToTokenView.as_view()),
    *route("logout", api.LogoutView.as_view()),
    *route("validate", api.ValidateView.as_view()),
    *route("jwks", api.JwksView.as_view(), name="jwks"),
    *route("forgot-password", api.ForgotPasswordView.as_view()),
    *route("reset-password", api.ResetPasswordView.as_view()),
    *route("profile", api.ProfileView.as_view()),
    *route("change-email", api.ChangeEmailView.as_view()),
    *route("confirm-email-change", api.ConfirmEmailChangeView.as_view()),
    *route("change-password", api.ChangePasswordView.as_view()),
    *route("account", api.AccountView.as_view()),
    *route("sessions", api.SessionsView.as_view()),
    *route("sessions/<str:session_id>", api.SessionView.as_view()),
    *route("security-events", api.SecurityEventsView.as_view()),
]
