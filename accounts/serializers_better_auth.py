"""Bodies of the Better Auth-style routes the platform's clients call (PLATFORM.md §3)."""

from typing import Any

from rest_framework import serializers

from accounts.serializers import PASSWORD_FIELD_MAX


class SignInEmailInput(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)
    callbackURL = serializers.CharField(max_length=2048, required=False, allow_blank=True)
    rememberMe = serializers.BooleanField(required=False)


class PasswordOnlyInput(serializers.Serializer[Any]):
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)


class CodeInput(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=32)
    trustDevice = serializers.BooleanField(required=False)


class MagicLinkSendInput(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254)
    callbackURL = serializers.CharField(max_length=2048, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
