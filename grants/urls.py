from core.urls import route
from grants import api

me_urlpatterns = [
    *route("ai-mission-grant", api.MissionGrantView.as_view()),
    *route("ai-mission-grants", api.MissionGrantListView.as_view()),
    *route("ai-mission-grants/<str:grant_id>", api.MissionGrantItemView.as_view()),
    *route("ai-audit", api.AiAuditView.as_view()),
]

internal_urlpatterns = [
    *route("grants/<str:grant_id>", api.InternalGrantView.as_view()),
    *route("decrypt-audit", api.InternalDecryptAuditView.as_view()),
]
