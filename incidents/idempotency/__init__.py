"""Requests sent twice (a double click, a client's retry, two at the same instant) take effect once."""
