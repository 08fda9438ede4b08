"""Accounts: registration, login, logout and the role check."""
