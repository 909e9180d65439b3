"""The whole bot definition as one document with a revision, and read views of its flows,
nodes and cards.

Saving carries the revision it was based on (`baseRevision`); if the draft moved on since,
the save is refused with 409, the current revision and what the current draft has that the
sent copy does not (docs/rest-api.md, "Revisions").
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.response import Response

from flows import services
from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.bots import invalid_bot_file, validated
from flows.versions_diff import summary_text


class ProblemSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="JSON path into the bot file")
    message = serializers.CharField()


class DefinitionSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    valid = serializers.BooleanField(help_text="false while the draft has problems (it cannot be published)")
    problems = ProblemSerializer(many=True)
    definition = serializers.JSONField(help_text="the bot file, layout included (docs/bot-format.md)")


class DefinitionSaveSerializer(serializers.Serializer):
    baseRevision = serializers.IntegerField(min_value=1, help_text="the revision the sent document was based on")
    definition = serializers.JSONField(help_text="the whole bot file, layout included")

    def validate_definition(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("the definition is a bot file: a JSON object")
        return value


def problems_data(problems) -> list[dict]:
    return [{"path": problem.path, "message": problem.message} for problem in problems]


def definition_data(bot) -> dict:
    problems = services.draft_problems(bot)
    return {
        "revision": bot.draft_revision,
        "valid": not problems,
        "problems": problems_data(problems),
        "definition": services.draft_document(bot),
    }


def stale(exc: services.StaleRevision):
    extra = {"currentRevision": exc.current_revision}
    if exc.changes is not None:
        extra["changes"] = exc.changes
        extra["summary"] = summary_text(exc.changes)
    return errors.conflict(
        f"the draft changed since the revision you started from; it is now at revision {exc.current_revision}. "
        "Load it again and re-apply your change.",
        code="stale_revision", **extra,
    )


class Definition(ApiView):
    permissions = {"GET": "flows.view_bot", "PUT": "flows.change_bot"}

    @operation(operation_id="getDefinition", tags=["definition"], responses=DefinitionSerializer,
                   description="The draft as one document with its revision. Drafts saved by the editor may be "
                               "unfinished: `valid` and `problems` say what stops publishing.")
    def get(self, request, bot_id):
        return Response(definition_data(self.bot(bot_id)))

    @operation(
        operation_id="saveDefinition", tags=["definition"], request=DefinitionSaveSerializer,
        responses={200: DefinitionSerializer,
                   400: OpenApiResponse(description="every problem of the document, paths under `$.definition`"),
                   409: OpenApiResponse(description="stale `baseRevision`: `currentRevision`, `changes`, `summary`")},
        description="Replace the draft with a valid bot file. `baseRevision` must be the current revision.",
    )
    def put(self, request, bot_id):
        bot = self.bot(bot_id)
        data = validated(DefinitionSaveSerializer, request.data)
        try:
            services.replace_draft(bot, data["definition"], base_revision=data["baseRevision"], user=request.user)
        except services.BotFileInvalid as exc:
            raise invalid_bot_file(exc, under=["definition"]) from None
        except services.StaleRevision as exc:
            raise stale(exc) from None
        return Response(definition_data(bot))


# --- read views of parts of the definition ---------------------------------------------------

def _flows(bot) -> list[dict]:
    flows = bot.draft.get("flows")
    return [flow for flow in flows if isinstance(flow, dict)] if isinstance(flows, list) else []


def _find_flow(bot, name: str) -> dict:
    for flow in _flows(bot):
        if flow.get("name") == name:
            return flow
    raise errors.not_found(f"bot {bot.name!r} has no flow {name!r}")


def _nodes(flow: dict) -> list[dict]:
    nodes = flow.get("nodes")
    return [node for node in nodes if isinstance(node, dict)] if isinstance(nodes, list) else []


def _layout_of(bot, flow_name: str) -> dict:
    layout = bot.layout.get(flow_name) if isinstance(bot.layout, dict) else None
    return layout if isinstance(layout, dict) else {}


class FlowSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    folder = serializers.CharField(allow_blank=True)
    nodes = serializers.IntegerField(help_text="how many nodes")
    variables = serializers.IntegerField(help_text="how many flow variables")


class FlowListSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    flows = FlowSummarySerializer(many=True)


class FlowSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    flow = serializers.JSONField()
    layout = serializers.JSONField(help_text="{nodeId: [x, y]}")


class NodeSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    flow = serializers.CharField()
    node = serializers.JSONField()
    position = serializers.JSONField(allow_null=True)


class CardSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    flow = serializers.CharField()
    node = serializers.CharField()
    card = serializers.JSONField()


def _text(value) -> str:
    return value if isinstance(value, str) else ""


class FlowList(ApiView):
    permissions = {"GET": "flows.view_bot"}

    @operation(operation_id="listFlows", tags=["definition"], responses=FlowListSerializer)
    def get(self, request, bot_id):
        bot = self.bot(bot_id)
        flows = [{
            "name": _text(flow.get("name")),
            "description": _text(flow.get("description")),
            "folder": _text(flow.get("folder")),
            "nodes": len(_nodes(flow)),
            "variables": len(flow.get("variables") or []) if isinstance(flow.get("variables"), list) else 0,
        } for flow in _flows(bot)]
        return Response({"revision": bot.draft_revision, "flows": flows})


class FlowDetail(ApiView):
    permissions = {"GET": "flows.view_bot"}

    @operation(operation_id="getFlow", tags=["definition"], responses=FlowSerializer)
    def get(self, request, bot_id, flow):
        bot = self.bot(bot_id)
        found = _find_flow(bot, flow)
        return Response({"revision": bot.draft_revision, "flow": found, "layout": _layout_of(bot, flow)})


class NodeDetail(ApiView):
    permissions = {"GET": "flows.view_bot"}

    @operation(operation_id="getNode", tags=["definition"], responses=NodeSerializer)
    def get(self, request, bot_id, flow, node):
        bot = self.bot(bot_id)
        for candidate in _nodes(_find_flow(bot, flow)):
            if candidate.get("id") == node:
                return Response({"revision": bot.draft_revision, "flow": flow, "node": candidate,
                                 "position": _layout_of(bot, flow).get(node)})
        raise errors.not_found(f"flow {flow!r} has no node {node!r}")


class CardDetail(ApiView):
    permissions = {"GET": "flows.view_bot"}

    @operation(operation_id="getCard", tags=["definition"], responses=CardSerializer,
                   description="A card by its id (card ids are unique in the whole bot), with where it is.")
    def get(self, request, bot_id, card):
        bot = self.bot(bot_id)
        for flow in _flows(bot):
            for node in _nodes(flow):
                cards = node.get("cards") if isinstance(node.get("cards"), list) else []
                for candidate in cards:
                    if isinstance(candidate, dict) and candidate.get("id") == card:
                        return Response({"revision": bot.draft_revision, "flow": _text(flow.get("name")),
                                         "node": _text(node.get("id")), "card": candidate})
        raise errors.not_found(f"bot {bot.name!r} has no card {card!r}")

