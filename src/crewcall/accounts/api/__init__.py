"""Accounts over the API (admins only): users and their roles, API tokens."""

from __future__ import annotations

from ninja import Router

from crewcall.accounts.api import tokens, users

router = Router()
router.add_router("", users.router)
router.add_router("", tokens.router)
