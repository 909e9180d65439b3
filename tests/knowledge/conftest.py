from integrations.llm.testing import scripted_llm_server  # noqa: F401
