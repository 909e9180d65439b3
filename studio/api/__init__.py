"""The versioned REST API (`/api/v1/`) for everything a bot is made of."""
