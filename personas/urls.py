from core.urls import route
from personas import api

admin_urlpatterns = [
    *route("personas", api.AdminPersonaListView.as_view()),
    *route("personas/<str:user_id>", api.AdminPersonaView.as_view()),
]

internal_urlpatterns = [
    *route("personas/due", api.InternalDuePersonasView.as_view()),
    *route("personas/<str:user_id>/actions", api.InternalPersonaActionsView.as_view()),
    *route("personas/<str:user_id>/feedback", api.InternalPersonaFeedbackView.as_view()),
]
