"""The platform administrator's pages."""
