from core.urls import route
from passkeys import api

urlpatterns = [
    *route("capability", api.CapabilityView.as_view()),
    *route("register/options", api.RegisterOptionsView.as_view()),
    *route("register/verify", api.RegisterVerifyView.as_view()),
    *route("authenticate/options", api.AuthenticateOptionsView.as_view()),
    *route("authenticate/verify", api.AuthenticateVerifyView.as_view()),
    *route("<str:passkey_id>", api.PasskeyView.as_view()),
]
