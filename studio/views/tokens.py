"""Personal access tokens: list, create (the raw token is shown once), revoke."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from studio.people import tokens
from studio.forms import TokenForm
from studio.people.models import PersonalAccessToken


def _render(request, *, form=None, raw=None, status=200):
    template = "studio/_tokens.html" if request.htmx else "studio/tokens.html"
    context = {
        "tokens": request.user.access_tokens.all(),
        "form": form or TokenForm(),
        "raw": raw,
    }
    return render(request, template, context, status=status)


@login_required
def token_list(request):
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                _, raw = tokens.create_token(request.user, form.cleaned_data["note"])
            except tokens.TokenNoteInvalid as exc:
                form.add_error("note", str(exc).removeprefix("note: "))
            else:
                return _render(request, raw=raw)
        return _render(request, form=form, status=400)
    return _render(request)


@require_POST
@login_required
def revoke(request, pk):
    # Only one's own tokens: anyone else's id is simply not found.
    token = get_object_or_404(PersonalAccessToken, pk=pk, user=request.user)
    tokens.revoke(token, actor=request.user)
    return _render(request)
