"""The workspace's Usage page: what its bots did and store (studio/usage.py)."""
from django.shortcuts import render

from studio import usage as service
from studio.query_params import InvalidFilter
from studio.views.access import workspace_page


@workspace_page("studio.view_usage")
def usage_page(request, workspace):
    error, data, chosen = None, None, None
    try:
        chosen = service.range_from_query(request.GET)
        data = service.report(workspace, chosen)
    except InvalidFilter as exc:
        error = str(exc)
    return render(request, "studio/usage.html", {"range": chosen, "data": data, "error": error},
                  status=400 if error else 200)
