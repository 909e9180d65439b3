"""Account services: sign-up (with the default workspace), profiles and avatars."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction

from studio.people.models import Profile
from studio.people.workspaces import create_default_workspace

# Magic numbers of the image types an avatar may be; the browser-sent content type is not trusted.
AVATAR_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


class AccountError(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")
        self.message = message


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def sign_up(email: str, password: str, *, name: str = "", with_workspace: bool = True):
    """A new user (their email is their login) and, unless they join by invitation, their
    default workspace, which they own."""
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise AccountError("email", f"{email or '(empty)'} is not an email address") from None
    User = get_user_model()
    if User.objects.filter(email__iexact=email).exists() or User.objects.filter(username__iexact=email).exists():
        raise AccountError("email", f"an account with {email} already exists; log in instead")
    user = User(username=email, email=email, first_name=(name or "").strip()[:150])
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountError("password", " ".join(exc.messages)) from None
    with transaction.atomic():
        user.set_password(password)
        user.save()
        Profile.objects.create(user=user, display_name=user.first_name)
        if with_workspace:
            create_default_workspace(user)
    return user


def profile_of(user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user, defaults={"display_name": user.first_name})
    return profile


def update_profile(user, *, display_name: str, avatar_url: str = "") -> Profile:
    profile = profile_of(user)
    display_name = (display_name or "").strip()
    if len(display_name) > 100:
        raise AccountError("display_name", "at most 100 characters")
    avatar_url = (avatar_url or "").strip()
    if avatar_url:
        try:
            URLValidator(schemes=["https", "http"])(avatar_url)
        except ValidationError:
            raise AccountError("avatar_url", f"{avatar_url} is not an http(s) URL") from None
    profile.display_name = display_name
    profile.avatar_url = avatar_url
    profile.save(update_fields=["display_name", "avatar_url", "updated_at"])
    return profile


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n // 1024} KB"


def set_avatar(user, data: bytes) -> Profile:
    """Store an uploaded avatar: PNG, JPEG or GIF, at most FLOWSTUDIO_AVATAR_MAX_BYTES."""
    limit = settings.FLOWSTUDIO_AVATAR_MAX_BYTES
    if len(data) > limit:
        raise AccountError("avatar", f"the image is larger than {_size(limit)}, the limit")
    content_type = next((kind for magic, kind in AVATAR_TYPES.items() if data.startswith(magic)), None)
    if content_type is None:
        raise AccountError("avatar", "only PNG, JPEG or GIF images can be avatars")
    profile = profile_of(user)
    profile.avatar_data = data
    profile.avatar_content_type = content_type
    profile.save(update_fields=["avatar_data", "avatar_content_type", "updated_at"])
    return profile


def clear_avatar(user) -> Profile:
    profile = profile_of(user)
    profile.avatar_data = None
    profile.avatar_content_type = ""
    profile.avatar_url = ""
    profile.save(update_fields=["avatar_data", "avatar_content_type", "avatar_url", "updated_at"])
    return profile
