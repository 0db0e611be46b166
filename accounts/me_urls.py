from accounts.api import me, user_settings
from core.urls import route

me_urlpatterns = [
    *route("data", me.MeDataView.as_view()),
    *route("data/export", me.MeExportView.as_view()),
    *route("profile", me.MeProfileView.as_view()),
    *route("onboarding", me.OnboardingView.as_view()),
    *route("onboarding/complete", me.OnboardingCompleteView.as_view()),
    *route("onboarding/reset", me.OnboardingResetView.as_view()),
]

settings_urlpatterns = [
    *route("global", user_settings.GlobalSettingsView.as_view()),
    *route("app/<str:app_id>", user_settings.AppSettingsView.as_view()),
    *route("devices", user_settings.DevicesView.as_view()),
    *route("device/<str:device_id>", user_settings.DeviceView.as_view()),
    *route("device/<str:device_id>/<str:app_id>", user_settings.DeviceSettingsView.as_view()),
]
