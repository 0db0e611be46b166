"""Who may call the operator routes of /api/v1/admin: signed-in users whose role is admin (the
role the JWT carries). Every app with admin routes stands its views on AdminView."""

from typing import Any

from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request

from accounts.models import Role, User
from core.api import UserView


class IsAdminRole(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, User) and request.user.role == Role.ADMIN


class AdminView(UserView):
    permission_classes = (IsAuthenticated, IsAdminRole)
