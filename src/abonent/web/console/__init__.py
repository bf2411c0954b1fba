"""The staff console under /console: server-rendered pages, Russian only, for the office desk
and the hotline. Pages call services (never the JSON API); ``session.py`` holds the one principal
dependency and the CSRF helpers every console page uses (docs/console.md)."""
