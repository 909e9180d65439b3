"""The bot every channel's conversation test talks to: a capture, a choice, an image out,
and an answer to an image in."""


def pizza_bot(name="Pizza") -> dict:
    return {
        "format": "flowstudio.bot/1",
        "name": name,
        "settings": {"inactivityTimeoutMinutes": 30},
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "route"},
            {"id": "route", "kind": "standard", "cards": [
                {"id": "is-image", "type": "expression", "condition": "event.type === 'image'", "next": "picture"},
                {"id": "is-place", "type": "expression", "condition": "event.type === 'location'", "next": "place"},
                {"id": "is-two", "type": "expression", "condition": "event.preview === 'two'", "next": "two"},
            ], "next": "order"},
            {"id": "order", "kind": "standard", "cards": [
                {"id": "ask-name", "type": "capture", "capture": "raw", "variable": "workflow.name",
                 "prompt": "What is your name?"},
                {"id": "ask-size", "type": "capture", "capture": "single_choice", "variable": "workflow.size",
                 "prompt": "Which size, {{workflow.name}}?",
                 "choices": [{"label": "Small", "value": "small"}, {"label": "Large", "value": "large"}]},
                {"id": "done", "type": "text", "text": "A {{workflow.size}} pizza for {{workflow.name}}."},
                {"id": "photo", "type": "image", "url": "https://example.org/{{workflow.size}}.png",
                 "title": "Your pizza"},
            ], "next": "end"},
            {"id": "picture", "kind": "standard", "cards": [
                {"id": "nice", "type": "text", "text": "Nice picture."},
            ], "next": "end"},
            {"id": "place", "kind": "standard", "cards": [
                {"id": "where", "type": "text", "text": "You are at {{event.payload.latitude}}."},
            ], "next": "end"},
            {"id": "two", "kind": "standard", "cards": [
                {"id": "first", "type": "text", "text": "first"},
                {"id": "second", "type": "text", "text": "second"},
                {"id": "third", "type": "text", "text": "third"},
            ], "next": "end"},
            {"id": "end", "kind": "end"},
        ]}],
    }
