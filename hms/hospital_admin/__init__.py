"""The hospital administrator's pages."""
