from django.urls import path
from oauth2_provider import views as toolkit

from oidc import views

app_name = "oidc"

# The provider's endpoints, as discovery (/.well-known/openid-configuration, in config.urls) names them.
urlpatterns = [
    path("authorize", views.AuthorizeView.as_view(), name="authorize"),
    path("token", toolkit.TokenView.as_view(), name="token"),
    path("userinfo", toolkit.UserInfoView.as_view(), name="userinfo"),
    path("logout", views.EndSessionView.as_view(), name="end-session"),
]
