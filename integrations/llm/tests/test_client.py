"""The provider client over real HTTP against the scripted server: answers, streams, tool
calls, usage and cost, and every way a provider fails, as the LLMError a bot builder reads."""
import logging

import pytest

from integrations.llm import scripted_server as s
from integrations.llm.client import ModelInfo, OpenAICompatible, ProviderConfig, parse_models
from runtime.engine.llm import LLMError, LLMRequest, ToolSpec

MODELS = (ModelInfo("scripted-fast", "Fast", 8192, 1.0, 2.0), ModelInfo("scripted-best", "Best", 32768, 10, 30))


def provider(server, **overrides):
    config = dict(name="acme", base_url=server.url, api_key="sk-secret-value-123", models=MODELS,
                  default_model="scripted-fast", timeout=5.0, max_retries=0, revision="1")
    config.update(overrides)
    return OpenAICompatible(ProviderConfig(**config))


def ask(text="hi", **kw):
    return LLMRequest(messages=({"role": "user", "content": text},), **kw)


async def test_answer_usage_cost_and_default_model(scripted_llm_server):
    scripted_llm_server.script([s.text("Hello there", tokens_in=1000, tokens_out=500)])
    answer = await provider(scripted_llm_server).complete(ask())
    assert answer.text == "Hello there"
    assert (answer.provider, answer.model, answer.tokens_in, answer.tokens_out) == ("acme", "scripted-fast", 1000, 500)
    assert answer.cost == pytest.approx(1.0 + 1.0)  # 1k in at 1.0, 0.5k out at 2.0
    assert scripted_llm_server.requests[0]["model"] == "scripted-fast"
    assert scripted_llm_server.headers[0]["authorization"] == "Bearer sk-secret-value-123"


async def test_label_picks_the_model_and_unknown_ids_pass_through(scripted_llm_server):
    scripted_llm_server.script([s.text("a"), s.text("b")])
    await provider(scripted_llm_server).complete(ask(model="best"))
    await provider(scripted_llm_server).complete(ask(model="llama3:8b"))
    assert [r["model"] for r in scripted_llm_server.requests] == ["scripted-best", "llama3:8b"]


async def test_stream_hands_each_piece_and_returns_the_whole(scripted_llm_server):
    scripted_llm_server.script([s.text("one two three")])
    pieces = []
    answer = await provider(scripted_llm_server).complete(ask(stream=True), pieces.append)
    assert pieces == ["one ", "two ", "three"]
    assert answer.text == "one two three" and answer.tokens_out > 0
    assert scripted_llm_server.requests[0]["stream"] is True


async def test_tool_calls_json_and_streamed(scripted_llm_server):
    scripted_llm_server.script([s.tool("lookup", {"q": 1}), s.tool("lookup", {"q": 2})])
    tools = (ToolSpec("lookup", "Looks up", {"type": "object", "properties": {"q": {"type": "integer"}}}),)
    plain = await provider(scripted_llm_server).complete(ask(tools=tools, tool_choice="lookup"))
    streamed = await provider(scripted_llm_server).complete(ask(tools=tools, stream=True), lambda _: None)
    assert [(c.name, c.parsed_arguments()) for c in plain.tool_calls] == [("lookup", {"q": 1})]
    assert [(c.name, c.parsed_arguments()) for c in streamed.tool_calls] == [("lookup", {"q": 2})]
    sent = scripted_llm_server.requests[0]
    assert sent["tools"][0]["function"]["name"] == "lookup"
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}


async def test_response_schema_is_sent_as_json_schema_format(scripted_llm_server):
    scripted_llm_server.script([s.text('{"a": 1}')])
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    await provider(scripted_llm_server).complete(ask(response_schema=schema, temperature=0.2, max_tokens=50))
    sent = scripted_llm_server.requests[0]
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    assert (sent["temperature"], sent["max_tokens"]) == (0.2, 50)


async def test_500_names_provider_and_status(scripted_llm_server):
    scripted_llm_server.script([s.error(500, "the model is overloaded")])
    with pytest.raises(LLMError) as caught:
        await provider(scripted_llm_server).complete(ask())
    assert (caught.value.provider, caught.value.status) == ("acme", 500)
    assert str(caught.value) == "LLM provider 'acme' (HTTP 500): the model is overloaded"


async def test_429_is_retried_after_retry_after_then_answers(scripted_llm_server):
    scripted_llm_server.script([s.error(429, "slow down", retry_after=0.2), s.text("ok now")])
    answer = await provider(scripted_llm_server, max_retries=2).complete(ask())
    assert answer.text == "ok now" and len(scripted_llm_server.requests) == 2


async def test_429_after_every_retry_fails_with_the_status(scripted_llm_server):
    scripted_llm_server.script([s.error(429, "slow down", retry_after=0.05)] * 3)
    with pytest.raises(LLMError) as caught:
        await provider(scripted_llm_server, max_retries=2).complete(ask())
    assert caught.value.status == 429 and "slow down" in str(caught.value)
    assert len(scripted_llm_server.requests) == 3  # the first try and two retries


async def test_timeout_is_a_clear_failure(scripted_llm_server):
    scripted_llm_server.script([s.delay(3)])
    with pytest.raises(LLMError) as caught:
        await provider(scripted_llm_server, timeout=0.5).complete(ask())
    assert str(caught.value) == "LLM provider 'acme': no answer within 0.5 s"


async def test_not_json_is_a_clear_failure(scripted_llm_server):
    scripted_llm_server.script([s.malformed()])
    with pytest.raises(LLMError) as caught:
        await provider(scripted_llm_server).complete(ask())
    assert "the answer is not a chat completion" in str(caught.value)


@pytest.mark.parametrize("stream", [False, True])
async def test_cut_connection_is_a_clear_failure(scripted_llm_server, stream):
    scripted_llm_server.script([s.cut("a long answer that will never be finished at all")])
    with pytest.raises(LLMError) as caught:
        await provider(scripted_llm_server).complete(ask(stream=stream), (lambda _: None) if stream else None)
    assert caught.value.provider == "acme"
    if stream:
        assert str(caught.value) == "LLM provider 'acme': the answer stream stopped before it was complete"
    else:
        assert str(caught.value) == (f"LLM provider 'acme': the connection to {scripted_llm_server.url} "
                                     "failed or was cut off before the answer was complete")


async def test_private_address_refused_by_the_guard(scripted_llm_server, settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = []
    with pytest.raises(LLMError) as caught:
        await provider(scripted_llm_server).complete(ask())
    assert "loopback" in str(caught.value)
    assert scripted_llm_server.requests == []


async def test_the_api_key_is_never_logged(scripted_llm_server, caplog):
    caplog.set_level(logging.DEBUG)
    scripted_llm_server.script([s.error(500, "boom"), s.text("fine")])
    with pytest.raises(LLMError):
        await provider(scripted_llm_server).complete(ask())
    await provider(scripted_llm_server).complete(ask())
    assert "sk-secret-value-123" not in caplog.text
    assert "sk-secret-value-123" not in repr(provider(scripted_llm_server).config)


@pytest.mark.parametrize("value, message", [
    ("x", "models: expected a list"),
    ([{"label": "Fast"}], "models[0].id: a model id"),
    ([{"id": "a", "priceIn": -1}], "models[0].priceIn"),
    ([{"id": "a", "contextWindow": True}], "models[0].contextWindow"),
    ([{"id": "a", "label": "Fast"}, {"id": "b", "label": "fast"}], "models[1]: 'fast' is used"),
    ([{"id": "a", "colour": "red"}], "models[0]: unknown field 'colour'"),
])
def test_models_setting_errors_name_the_entry(value, message):
    with pytest.raises(ValueError) as caught:
        parse_models(value)
    assert message in str(caught.value)
