"""Domain operations: verb_noun functions that flush and leave the commit to the caller."""
