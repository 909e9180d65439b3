"""The Logs page's live tail over a websocket (studio/log_tail.py) through Channels'
WebsocketCommunicator, the real ASGI application (session auth, origin check), PostgreSQL
and the Redis channel layer: a published turn's new log lines are pushed as they are stored,
with the page's filters; the emulator's are not; who may not read the logs is refused, also
when their role is taken away while the socket is open."""
import copy
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from flows import services as flow_services
from runtime import turns
from studio.asgi import application
from studio.emulator.tests import test_emulator_protocol as emulator_tests
from studio.people.models import Membership, Role
from studio.tests.test_operations_pages import operations_bot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
# The emulator tests' private channel-layer prefix per test (an autouse fixture) and cookie.
_private_channel_layer = emulator_tests._private_channel_layer
cookie_for = emulator_tests.cookie_for


def _setup(role=Role.VIEWER):
    """A published operations bot; (bot, the session cookie of a member in `role`, or of a
    user of no workspace when role is None)."""
    from django.contrib.auth import get_user_model

    from studio.people.workspaces import create_workspace

    users = get_user_model().objects
    owner = users.create_user(username=f"o{uuid.uuid4().hex[:6]}@x.test", password="pw-123456789")
    workspace = create_workspace(owner, f"WS {uuid.uuid4().hex[:6]}")
    bot = flow_services.import_bot(copy.deepcopy(operations_bot()), workspace=workspace)
    flow_services.publish(bot)
    member = owner
    if role != Role.OWNER:
        member = users.create_user(username=f"m{uuid.uuid4().hex[:6]}@x.test", password="pw-123456789")
        if role is not None:
            Membership.objects.create(workspace=workspace, user=member, role=role)
    return bot, member, cookie_for(member)


def communicator(bot_id, cookie=None, query=""):
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, f"/ws/bots/{bot_id}/logs/{query}", headers=headers)


def talk(bot, user_id, *texts, draft=False):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, user_id), draft=draft)
    for text in texts:
        turns.send_user_message(conversation, text)


async def opened(comm):
    connected, _ = await comm.connect()
    assert connected
    ready = await comm.receive_json_from(timeout=10)
    assert ready["type"] == "ready", ready
    return ready


async def test_new_lines_are_pushed_as_they_are_stored_and_the_emulators_are_not():
    bot, _, cookie = await database_sync_to_async(_setup)()
    await database_sync_to_async(talk)(bot, "ann", "before")  # shown by the page, not pushed
    comm = communicator(bot.pk, cookie)
    ready = await opened(comm)
    assert ready["after"] > 0
    await database_sync_to_async(talk)(bot, "dev", "in the emulator", draft=True)
    assert await comm.receive_nothing(timeout=1)
    await database_sync_to_async(talk)(bot, "bob", "anyone there?")
    frame = await comm.receive_json_from(timeout=10)
    assert frame["type"] == "lines" and frame["count"] == 1 and frame["after"] > ready["after"]
    assert "heard anyone there?" in frame["html"] and "before" not in frame["html"]
    assert 'data-level="info"' in frame["html"] and f"/bots/{bot.pk}/conversations/" in frame["html"]
    await database_sync_to_async(talk)(bot, "cat", "warn <b>me</b>")
    frame = await comm.receive_json_from(timeout=10)
    # Newest first, as on the page, and escaped like all text on it.
    assert frame["count"] == 2 and frame["html"].index("careful: warn") < frame["html"].index("heard warn")
    assert "&lt;b&gt;me&lt;/b&gt;" in frame["html"] and "<b>me</b>" not in frame["html"]
    await comm.disconnect()


async def test_the_filters_of_the_page_apply_and_after_resumes():
    bot, _, cookie = await database_sync_to_async(_setup)(Role.DEVELOPER)
    await database_sync_to_async(talk)(bot, "ann", "order 1")  # missed while away: an error line
    comm = communicator(bot.pk, cookie, "?level=error&after=0")
    await opened(comm)
    frame = await comm.receive_json_from(timeout=10)  # what was stored after `after`, at once
    assert frame["count"] == 1 and "order 1 not found" in frame["html"]
    await database_sync_to_async(talk)(bot, "bob", "just words")  # info only: filtered out
    assert await comm.receive_nothing(timeout=1.5)
    await database_sync_to_async(talk)(bot, "cat", "order 2")
    frame = await comm.receive_json_from(timeout=10)
    assert frame["count"] == 1 and "order 2 not found" in frame["html"] and "heard" not in frame["html"]
    await comm.disconnect()


@pytest.mark.parametrize("role, close, words", [
    ("anonymous", 4401, "log in"),
    (None, 4404, "no bot with id"),  # another workspace's bot is not even said to exist
    (Role.BILLING_MANAGER, 4403, "flows.view_conversations"),
])
async def test_who_may_not_read_the_logs_is_refused(role, close, words):
    bot, _, cookie = await database_sync_to_async(_setup)(Role.VIEWER if role == "anonymous" else role)
    comm = communicator(bot.pk, None if role == "anonymous" else cookie)
    connected, _ = await comm.connect()
    assert connected  # accepted first, so the refusal can say why
    frame = await comm.receive_json_from(timeout=10)
    assert frame["type"] == "error" and words in frame["message"]
    assert (await comm.receive_output(timeout=5)) == {"type": "websocket.close", "code": close}


async def test_a_bad_filter_is_named_and_closes():
    bot, _, cookie = await database_sync_to_async(_setup)()
    comm = communicator(bot.pk, cookie, "?level=loud")
    await comm.connect()
    frame = await comm.receive_json_from(timeout=10)
    assert frame == {"type": "error", "message": "level: unknown level 'loud'; use one of debug, info, warn, error"}
    assert (await comm.receive_output(timeout=5))["code"] == 4400


async def test_a_role_taken_away_closes_the_socket_at_the_next_push():
    bot, member, cookie = await database_sync_to_async(_setup)()
    comm = communicator(bot.pk, cookie)
    await opened(comm)
    await database_sync_to_async(Membership.objects.filter(user=member).update)(role=Role.BILLING_MANAGER)
    await database_sync_to_async(talk)(bot, "bob", "secret")
    frame = await comm.receive_json_from(timeout=10)
    assert frame["type"] == "error" and "flows.view_conversations" in frame["message"]
    assert (await comm.receive_output(timeout=5))["code"] == 4403


# The permission matrix's row for the socket (tests/test_permission_matrix_pages.py holds the
# HTTP pages; a socket needs committed rows, so its row lives here): the Logs page's roles
# may follow the tail; the billing manager, a non-member and an anonymous visitor are refused
# above.
@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMINISTRATOR, Role.MANAGER, Role.DEVELOPER, Role.VIEWER])
async def test_every_role_of_the_logs_page_may_follow_the_tail(role):
    bot, _, cookie = await database_sync_to_async(_setup)(role)
    comm = communicator(bot.pk, cookie)
    await opened(comm)
    await comm.disconnect()
