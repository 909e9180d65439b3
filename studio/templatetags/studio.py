from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse

from studio import permissions
from studio.people import audit

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, perm, obj):
    """{% can "flows.delete_bot" bot as can_delete %}: the permission layer, for showing controls."""
    return permissions.can(context["request"].user, perm, obj)


@register.filter
def audit_verb(action):
    return audit.describe(action)


def _profile(user):
    try:
        return user.profile
    except ObjectDoesNotExist:  # no profile row yet (users made by createsuperuser or the admin)
        return None


@register.filter
def person(user):
    """How a user is named on pages: their display name, else their full name, else their email."""
    if user is None:
        return "Someone (deleted user)"
    profile = _profile(user)
    name = (profile.display_name if profile else "") or user.get_full_name()
    return name or user.email or user.get_username()


@register.filter
def initials(user):
    words = person(user).replace("@", " ").replace(".", " ").split()
    return "".join(word[0] for word in words[:2]).upper() or "?"


@register.filter
def avatar_src(user):
    profile = _profile(user)
    if profile is None:
        return ""
    if profile.avatar_content_type:
        return reverse("studio:avatar", args=[user.pk]) + f"?v={int(profile.updated_at.timestamp())}"
    return profile.avatar_url
