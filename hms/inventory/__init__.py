"""Inventory pages shared by hospital administrators and pharmacists (hms/inventory/views.py)."""
