"""Offline natural-language understanding: intents (MiniLM embeddings in numpy) and
system entities. Pure Python and numpy; nothing here imports Django."""

from .entities import extract_system_entities
from .intents import DEFAULT_THRESHOLD, IntentDefinitionError, IntentModel, NluResult, validate_intents

__all__ = ["DEFAULT_THRESHOLD", "IntentDefinitionError", "IntentModel", "NluResult", "extract_system_entities",
           "validate_intents"]
