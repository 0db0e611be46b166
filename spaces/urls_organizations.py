from core.urls import route
from spaces import api_organizations as api

# /api/auth/organization/ (PLATFORM.md §4)
urlpatterns = [
    *route("list", api.ListView.as_view()),
    *route("create", api.CreateView.as_view()),
    *route("set-active", api.SetActiveView.as_view()),
    *route("get-active-member", api.ActiveMemberView.as_view()),
    *route("list-members", api.MemberListView.as_view()),
    *route("list-invitations", api.InvitationListView.as_view()),
    *route("invite-member", api.InviteMemberView.as_view()),
    *route("get-invitation", api.InvitationView.as_view()),
    *route("accept-invitation", api.AcceptInvitationView.as_view()),
    *route("reject-invitation", api.RejectInvitationView.as_view()),
    *route("cancel-invitation", api.CancelInvitationView.as_view()),
    *route("remove-member", api.RemoveMemberView.as_view()),
]

# /api/v1/auth/organizations/ (PLATFORM.md §1)
detail_urlpatterns = [
    *route("<str:space_id>", api.OrganizationDetailView.as_view()),
]
