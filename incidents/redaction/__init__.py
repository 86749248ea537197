"""Passages of an agreed Review Report withheld from the edition SEC Parties read."""
