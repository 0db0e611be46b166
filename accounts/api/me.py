"""The caller's own data: /api/v1/me (summary, export, erasure, profile, onboarding)."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.authentication import actor_of, session_id_of
from accounts.models import User
from accounts.serializers import (
    DataDeletionSerializer,
    DataSummarySerializer,
    EraseInput,
    MeProfileInput,
    MeProfileSerializer,
    OnboardingSerializer,
)
from accounts.services import data_rights, profile, user_settings
from core.api import ERRORS, UserView, parsed
from core.origin import origin_of


class MeDataView(UserView):
    @extend_schema(responses={200: DataSummarySerializer, **ERRORS}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(DataSummarySerializer(selectors.data_summary(user=actor_of(request))).data)

    @extend_schema(request=EraseInput, responses={200: DataDeletionSerializer, **ERRORS}, tags=["me"])
    def delete(self, request: Request) -> Response:
        # The web app sends no body: then a recent sign-in is the proof (PLATFORM.md §5).
        password = parsed(EraseInput, request).get("password") or None
        answer = data_rights.account_delete(
            actor=actor_of(request), password=password, session_id=session_id_of(request), origin=origin_of(request)
        )
        return Response(DataDeletionSerializer(answer).data)


class MeExportView(UserView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["me"])
    def get(self, request: Request) -> HttpResponse:
        export = selectors.data_export(user=actor_of(request))
        body = json.dumps(export, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        filename = f"mana-auth-export-{timezone.now():%Y-%m-%d}.json"
        return HttpResponse(
            body,
            content_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
        )


class MeProfileView(UserView):
    @extend_schema(responses={200: MeProfileSerializer, **ERRORS}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(MeProfileSerializer(actor_of(request)).data)

    @extend_schema(request=MeProfileInput, responses={200: MeProfileSerializer, **ERRORS}, tags=["me"])
    def patch(self, request: Request) -> Response:
        data = parsed(MeProfileInput, request)
        user = profile.profile_update(
            actor=actor_of(request),
            origin=origin_of(request),
            name=data.get("name"),
            image=data.get("image"),
            feedback_show_real_name=data.get("feedbackShowRealName"),
        )
        return Response(MeProfileSerializer(user).data)


def onboarding_body(user: User) -> dict[str, Any]:
    return dict(OnboardingSerializer({"completedAt": user.onboarding_completed_at}).data)


class OnboardingView(UserView):
    @extend_schema(responses={200: OnboardingSerializer, **ERRORS}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(onboarding_body(actor_of(request)))


class OnboardingCompleteView(UserView):
    @extend_schema(request=None, responses={200: OnboardingSerializer, **ERRORS}, tags=["me"])
    def post(self, request: Request) -> Response:
        return Response(onboarding_body(user_settings.onboarding_complete(actor=actor_of(request))))


class OnboardingResetView(UserView):
    @extend_schema(request=None, responses={200: OnboardingSerializer, **ERRORS}, tags=["me"])
    def patch(self, request: Request) -> Response:
        return Response(onboarding_body(user_settings.onboarding_reset(actor=actor_of(request))))
