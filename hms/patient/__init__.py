"""The patient's pages."""
