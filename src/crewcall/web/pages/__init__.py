"""Read-mostly pages of the web app: the audit history of one object."""
