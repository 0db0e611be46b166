from accounts import api
from core.urls import route

me_urlpatterns = [
    *route("data", api.MeDataView.as_view()),
    *route("data/export", api.MeExportView.as_view()),
    *route("profile", api.MeProfileView.as_view()),
    *route("onboarding", api.OnboardingView.as_view()),
    *route("onboarding/complete", api.OnboardingCompleteView.as_view()),
    *route("onboarding/reset", api.OnboardingResetView.as_view()),
]

settings_urlpatterns = [
    *route("global", api.GlobalSettingsView.as_view()),
    *route("app/<str:app_id>", api.AppSettingsView.as_view()),
    *route("devices", api.DevicesView.as_view()),
    *route("device/<str:device_id>", api.DeviceView.as_view()),
    *route("device/<str:device_id>/<str:app_id>", api.DeviceSettingsView.as_view()),
]
