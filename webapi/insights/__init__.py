"""Insights: questions about the bot's own data answered with guarded, read-only SQL."""
