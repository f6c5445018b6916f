"""The dispatcher's event and template pages (HTML); the JSON API is events.api."""
