"""Indexing and search of a bot's knowledge bases (docs/knowledge.md). What a knowledge base
is lives in flows/knowledge.py; here: parsing, chunking, embedding, the Celery indexing job,
hybrid search and the engine's KnowledgeHost."""
