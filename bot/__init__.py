"""The Telegram bot: a thin aiogram 3 adapter over webapi's bot endpoints.

It never opens the database: it calls /api/v1/bot/* with BOT_API_TOKEN (bot.api), turns each
update into a call (bot.handlers, bot.middlewares) and the streamed answer into Telegram
messages (bot.answering, bot.render), all of them through one outgoing path (bot.delivery).
`python -m bot` runs it (bot.app).
"""
