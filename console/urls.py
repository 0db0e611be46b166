from console import api
from core.urls import route

urlpatterns = [
    *route("stats", api.AdminStatsView.as_view()),
    *route("users", api.AdminUsersView.as_view()),
    *route("users/<str:user_id>/data", api.AdminUserDataView.as_view()),
    *route("users/<str:user_id>/unlock", api.AdminUnlockView.as_view()),
]
