"""The dispatcher's employee pages (people/urls.py)."""
