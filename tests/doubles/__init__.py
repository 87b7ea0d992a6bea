"""Test doubles: real servers that speak the wire protocols of external services."""
