"""The flow editor: the canvas page and the JSON endpoints it saves through."""
