"""The web context: server-rendered pages (Jinja2, htmx) for members, leaders and brand staff, over the same
service functions as the API. See docs/web.md for the conventions every page follows."""
