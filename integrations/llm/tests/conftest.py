from integrations.llm.testing import scripted_llm_server  # noqa: F401
from integrations.llm.mcp_testing import mcp_test_server  # noqa: F401
