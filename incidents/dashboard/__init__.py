"""The home page after login, per role."""
