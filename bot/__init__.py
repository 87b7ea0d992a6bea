"""The Telegram bot: a thin aiogram 3 adapter over webapi's bot endpoints.

Not built yet — it is its own issue. It will never open the database; it calls
/api/v1/bot/* with BOT_API_TOKEN and renders the streamed answers in Telegram.
"""
