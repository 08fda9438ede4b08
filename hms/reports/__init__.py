"""Report pages shared by the hospital administrator and the platform administrator."""
