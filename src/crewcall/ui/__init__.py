"""The UI kit every page uses: access, htmx fragments, live updates, conflicts, the admin
base, the page write path."""
