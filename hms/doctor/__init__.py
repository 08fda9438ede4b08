"""The doctor's pages."""
