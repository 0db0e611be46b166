"""The operator console's REST API: /api/v1/admin (admins by role, with a Bearer token)."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors as account_selectors
from accounts.authentication import actor_of
from accounts.models import User
from accounts.permissions import AdminView
from accounts.serializers import (
    AdminStatsSerializer,
    AdminUserListSerializer,
    AdminUserSerializer,
    DataDeletionSerializer,
    DataSummarySerializer,
    UserListQuery,
)
from console import selectors, services
from core.api import ERRORS, success
from core.errors import ApiError, ErrorCode
from core.origin import origin_of
from core.serializers import SuccessSerializer


def _target(user_id: str) -> User:
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise ApiError(ErrorCode.NOT_FOUND)
    return target


class AdminStatsView(AdminView):
    @extend_schema(responses={200: AdminStatsSerializer, **ERRORS}, tags=["admin"])
    def get(self, request: Request) -> Response:
        return Response(AdminStatsSerializer(selectors.admin_stats()).data)


class AdminUsersView(AdminView):
    @extend_schema(parameters=[UserListQuery], responses={200: AdminUserListSerializer, **ERRORS}, tags=["admin"])
    def get(self, request: Request) -> Response:
        query = UserListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page, limit = query.validated_data["page"], query.validated_data["limit"]
        users, total = selectors.users_page(search=query.validated_data["search"], page=page, limit=limit)
        return Response({"users": AdminUserSerializer(users, many=True).data, "total": total, "page": page, "limit": limit})


class AdminUserDataView(AdminView):
    @extend_schema(responses={200: DataSummarySerializer, **ERRORS}, tags=["admin"])
    def get(self, request: Request, user_id: str) -> Response:
        return Response(DataSummarySerializer(account_selectors.data_summary(user=_target(user_id))).data)

    @extend_schema(responses={200: DataDeletionSerializer, **ERRORS}, tags=["admin"])
    def delete(self, request: Request, user_id: str) -> Response:
        answer = services.user_erase(operator=actor_of(request), target=_target(user_id), origin=origin_of(request))
        return Response(DataDeletionSerializer(answer).data)


class AdminUnlockView(AdminView):
    @extend_schema(request=None, responses={200: SuccessSerializer, **ERRORS}, tags=["admin"])
    def post(self, request: Request, user_id: str) -> Response:
        services.lockout_release(operator=actor_of(request), email=_target(user_id).email, origin=origin_of(request))
        return success()
