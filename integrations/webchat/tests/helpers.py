"""Bots and clients the webchat tests share."""
import copy
import json
from pathlib import Path

from channels.testing import WebsocketCommunicator

from flows import services as flow_services
from studio.asgi import application

from .. import services

DEMO = Path(__file__).resolve().parents[3] / "examples" / "webchat-demo.bot.json"
ORIGIN = "https://shop.example.com"


def create_bot(definition: dict, *, publish: bool = True, **settings):
    bot = flow_services.import_bot(copy.deepcopy(definition), workspace=flow_services.default_workspace())
    if publish:
        flow_services.publish(bot)
    if settings:
        services.update_settings(bot, settings)
    return bot


def demo_bot(**settings):
    return create_bot(json.loads(DEMO.read_text()), **settings)


def communicator(bot_id, origin: str | None = ORIGIN, host: str = "studio.test") -> WebsocketCommunicator:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return WebsocketCommunicator(application, f"/ws/webchat/{bot_id}/", headers=headers)


async def receive_until(comm: WebsocketCommunicator, predicate, timeout: float = 10.0) -> list[dict]:
    """Every frame up to and including the first that satisfies `predicate`."""
    frames = []
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        frames.append(frame)
        if predicate(frame):
            return frames


def bot_texts(frames) -> list[str]:
    return [f["message"]["payload"].get("text") for f in frames
            if f["type"] == "message" and f["message"]["direction"] == "outgoing"]
