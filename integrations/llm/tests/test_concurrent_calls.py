"""Many turns of a process wait on one provider at once (docs/ai.md, "How a turn waits"):
each must have its request out, not queue behind the others' answers."""
import asyncio

from integrations.llm import scripted_server as s
from integrations.llm.client import ModelInfo, OpenAICompatible, ProviderConfig
from runtime.engine.llm import LLMRequest


async def test_more_than_ten_calls_to_one_provider_are_out_at_once(scripted_llm_server):
    # The outbound guard's transport holds 10 connections unless told otherwise: the 11th
    # call waited for a whole answer (bench/llm_turns.py: 200 waiting turns went in waves).
    calls = 12
    scripted_llm_server.script([s.delay(1.5, f"answer {i}") for i in range(calls)])
    provider = OpenAICompatible(ProviderConfig(name="acme", base_url=scripted_llm_server.url, api_key="k",
                                               models=(ModelInfo("scripted-fast"),), max_retries=0, revision="1"))
    answers = asyncio.gather(*(provider.complete(LLMRequest(messages=({"role": "user", "content": f"q{i}"},)))
                               for i in range(calls)))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 1.2  # before the first answer comes back
    while len(scripted_llm_server.requests) < calls and loop.time() < deadline:
        await asyncio.sleep(0.02)
    assert len(scripted_llm_server.requests) == calls
    assert sorted(a.text for a in await answers) == sorted(f"answer {i}" for i in range(calls))
