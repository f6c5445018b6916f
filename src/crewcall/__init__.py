"""Crewcall: event staffing with a data layer that loses nothing."""
