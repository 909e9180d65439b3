"""The scripted server over real HTTP, through the official openai package and the outbound guard."""
import httpx2
import openai
import pytest

from integrations.llm import scripted_server as s
from runtime.outbound import AsyncGuardedTransport, OutboundRefused


def client(url):
    return openai.AsyncOpenAI(base_url=url, api_key="k", max_retries=0,
                              http_client=httpx2.AsyncClient(transport=AsyncGuardedTransport()))


async def test_json_answer_and_recorded_request(scripted_llm_server):
    scripted_llm_server.script([s.text("Hello there")])
    reply = await client(scripted_llm_server.url).chat.completions.create(
        model="scripted-fast", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Hello there"
    assert reply.usage.completion_tokens > 0
    assert scripted_llm_server.requests[0]["messages"] == [{"role": "user", "content": "hi"}]


async def test_streamed_answer_with_usage(scripted_llm_server):
    scripted_llm_server.script([s.text("one two three")])
    stream = await client(scripted_llm_server.url).chat.completions.create(
        model="scripted-fast", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True})
    pieces, usage = [], None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    assert "".join(pieces) == "one two three"
    assert usage is not None and usage.completion_tokens > 0


async def test_empty_script_answers_500_naming_it(scripted_llm_server):
    with pytest.raises(openai.InternalServerError) as caught:
        await client(scripted_llm_server.url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}])
    assert "no step left" in str(caught.value)


async def test_guard_refuses_loopback_not_allowed(scripted_llm_server, settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = []
    with pytest.raises((OutboundRefused, openai.APIConnectionError)) as caught:
        await client(scripted_llm_server.url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}])
    assert "loopback" in repr(caught.value) + repr(caught.value.__cause__)
    assert scripted_llm_server.requests == []


async def test_tool_call_json_and_streamed(scripted_llm_server):
    scripted_llm_server.script([s.tool("lookup", {"q": 1}), s.tool("lookup", {"q": 2})])
    c = client(scripted_llm_server.url)
    reply = await c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    call = reply.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments) == ("lookup", '{"q": 1}')
    stream = await c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    arguments = ""
    async for chunk in stream:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments += delta.function.arguments or ""
    assert arguments == '{"q": 2}'


async def test_429_carries_retry_after(scripted_llm_server):
    scripted_llm_server.script([s.error(429, retry_after=1)])
    with pytest.raises(openai.RateLimitError) as caught:
        await client(scripted_llm_server.url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.response.headers["retry-after"] == "1"
