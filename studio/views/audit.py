"""The audit log page, with filters (actor, action, date range), for Managers and up."""
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from studio.people.audit import ACTIONS
from studio.forms import AuditFilterForm
from studio.templatetags.studio import person
from studio.views.access import workspace_page

PAGE_SIZE = 50


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min))


@workspace_page("studio.view_audit")
def audit_log(request, workspace):
    entries = workspace.audit_entries.select_related("actor", "actor__profile")
    actor_ids = set(entries.exclude(actor=None).values_list("actor_id", flat=True).distinct())
    # Present and past members both: someone removed still did what they did.
    actor_ids |= set(workspace.memberships.values_list("user_id", flat=True))
    actors = sorted(
        ((str(u.pk), person(u)) for u in get_user_model().objects.filter(pk__in=actor_ids).select_related("profile")),
        key=lambda pair: pair[1].lower(),
    )
    used = set(entries.values_list("action", flat=True).distinct())
    actions = [(code, code) for code in sorted(set(ACTIONS) | used)]
    form = AuditFilterForm(request.GET or None, actors=actors, actions=actions)
    if form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            entries = entries.filter(actor_id=data["actor"])
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["since"]:
            entries = entries.filter(created_at__gte=_day_start(data["since"]))
        if data["until"]:
            entries = entries.filter(created_at__lt=_day_start(data["until"] + timedelta(days=1)))
    elif form.is_bound:
        entries = entries.none()
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "studio/_audit_results.html" if request.htmx else "studio/audit.html"
    return render(request, template, {"form": form, "page": page, "query": query.urlencode()})
