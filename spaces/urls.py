from core.urls import route
from spaces import api

space_urlpatterns = [
    *route("types", api.SpaceTypesView.as_view()),
    *route("invitations/<str:token>/accept", api.InvitationAcceptView.as_view()),
    *route("<str:space_id>", api.SpaceView.as_view()),
    *route("<str:space_id>/members", api.MemberListView.as_view()),
    *route("<str:space_id>/members/<str:member_id>", api.MemberView.as_view()),
    *route("<str:space_id>/invitations", api.InvitationCreateView.as_view()),
    *route("<str:space_id>/modules/<str:module>", api.ModuleView.as_view()),
]

api_key_urlpatterns = [
    *route("validate", api.ApiKeyValidateView.as_view()),
    *route("<str:key_id>", api.ApiKeyView.as_view()),
]

internal_urlpatterns = [
    *route("org/<str:space_id>/member/<str:user_id>", api.InternalMemberView.as_view()),
    *route("users/<str:user_id>/memberships", api.InternalMembershipsView.as_view()),
]
