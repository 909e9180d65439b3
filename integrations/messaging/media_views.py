"""A file a user sent on a channel, downloaded by integrations/messaging/media.py, at its
unguessable URL (`/channel-media/<uuid>/`), as the webchat serves its uploads."""
from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from . import media


@require_GET
def media_file(request, media_id):
    stored = media.get(media_id)
    if stored is None:
        raise Http404("no such file")
    response = HttpResponse(bytes(stored.content), content_type=stored.content_type)
    inline = stored.content_type.startswith("image/") and stored.content_type != "image/svg+xml"
    response["Content-Disposition"] = "inline" if inline else f'attachment; filename="{stored.media_id}"'
    # Whatever a file holds, it never runs as a page of the studio's origin.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=86400"
    return response
