from core.urls import route
from vault import api

urlpatterns = [
    *route("status", api.StatusView.as_view()),
    *route("init", api.InitView.as_view()),
    *route("key", api.KeyView.as_view()),
    *route("rotate", api.RotateView.as_view()),
    *route("recovery-wrap", api.RecoveryWrapView.as_view()),
    *route("zero-knowledge", api.ZeroKnowledgeView.as_view()),
]
