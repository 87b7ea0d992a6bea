"""The rules of the product, one module per thing it owns.

Each module owns the reads and writes of its tables; routes in `webapi.api` only parse, call
and shape answers. `conversation` answers messages (Telegram and, later, the console's chat
and its Insights mode, each in a module of its own beside it); `users` and `accounts` keep
who talks and who signs in; `roles` and `llm` are what an answer is made from.
"""
