"""How a studio user (an author, an actor, a member) appears in API responses."""
from __future__ import annotations

from rest_framework import serializers


def display_name(user) -> str:
    profile = getattr(user, "profile", None) if user is not None else None
    name = getattr(profile, "display_name", "") if profile is not None else ""
    if user is None:
        return ""
    return name or user.get_full_name() or user.email or user.get_username()


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    email = serializers.EmailField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return display_name(user)


def person(user) -> dict | None:
    return PersonSerializer(user).data if user is not None else None
