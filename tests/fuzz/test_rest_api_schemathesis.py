"""Property-based run of the whole API from its own OpenAPI schema (schemathesis), in-process
against the WSGI app, authenticated as the workspace owner: no input may produce a 5xx, and
every answer has a status and a body the schema documents.

Path parameters that name objects (bot, workspace, conversation, ...) are swapped for ones
that exist in about two cases out of three, so generated bodies and queries reach the code
behind the lookups instead of stopping at a 404. Each case runs in a savepoint that is
rolled back, so a DELETE in one case does not starve the next ones.
"""
from __future__ import annotations

import hashlib

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from studio.wsgi import application
from tests.api.conftest import make_world

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)

# Enough examples per operation to try every field with bad types, edge values and junk,
# while the whole run stays well under two minutes on two cores.
EXAMPLES_PER_OPERATION = 20


# No 5xx, and every answer is one the schema documents, in the documented shape.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


class Rollback(Exception):
    pass


@pytest.fixture
def api_world(db):
    # Django's test client does the same: without this the request signals close the test's
    # connection (it is inside a transaction) and every later query fails.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield make_world()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _real_parameters(world) -> dict[str, str]:
    return {
        "workspace": world.workspace.slug,
        "bot_id": str(world.bot.pk),
        "conversation_id": world.conversation.external_id,
        "user_id": world.end_user.external_id,
        "message_id": str(world.message.pk),
        "invitation_id": str(world.invitation.pk),
        "token_id": str(world.users["owner"].access_tokens.get().pk),
        "flow": "main",
        "node": "loop",
        "card": "reply",
        "name": "API_KEY",
        "number": "1",
        "state_type": "conversation",
        "scope_id": world.conversation.external_id,
        "table": "Orders",
        "row_id": str(world.row),
    }


def _use_real(case, name: str) -> bool:
    digest = hashlib.sha256(f"{case.operation.label}:{name}:{case.path_parameters.get(name)!r}".encode()).digest()
    return digest[0] % 3 != 0


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail_with_a_server_error(case, api_world):
    real = _real_parameters(api_world)
    if "/members/" in case.operation.path:
        real["user_id"] = str(api_world.spare_member.user_id)
    if "/states/" in case.operation.path:
        real["name"] = "context"
    for name in list(case.path_parameters or {}):
        if name in real and _use_real(case, name):
            case.path_parameters[name] = real[name]
    try:
        with transaction.atomic():
            case.call_and_validate(headers={"Authorization": f"Bearer {api_world.raw_tokens['owner']}"},
                                   checks=CHECKS)
            raise Rollback
    except Rollback:
        pass
