from django.apps import AppConfig


class RuntimeConfig(AppConfig):
    name = "runtime"

    def ready(self):
        from django.conf import settings

        from runtime.engine import configure_default_sandbox

        # The engine is Django-free; this is where the deployment's limits for user code reach it.
        configure_default_sandbox(
            timeout_ms=settings.FLOWSTUDIO_CODE_TIMEOUT_MS,
            memory_mb=settings.FLOWSTUDIO_CODE_MEMORY_MB,
        )

        # Start Workflow and Provide cards emit outputs the runtime acts on once their turn is
        # stored (runtime/workflows.py).
        from runtime import workflows

        workflows.subscribe()

        # Knowledge sources a bot file brings, and table sources whose rows change, are
        # queued for indexing (runtime/knowledge/jobs.py).
        from runtime.knowledge import jobs

        jobs.subscribe()
