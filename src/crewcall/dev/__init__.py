"""For development and evaluation, never the product's pages: the demo agency (`crewcall demo`)
and the fairness simulation's agency (`crewcall simulate_season`), built from one agency
definition (dev/agency.py)."""
