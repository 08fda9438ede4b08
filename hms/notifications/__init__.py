"""Notifications: the bell, the list of notices, and each user's delivery preferences."""
