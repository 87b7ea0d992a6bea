"""Tests of the Telegram bot (bot/) and its test doubles."""
