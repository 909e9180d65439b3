"""The studio's server-rendered pages (Django templates + htmx). Views stay thin: they fetch
objects through studio.permissions and call the services."""
