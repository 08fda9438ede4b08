"""Pages anyone can see: the home page."""
