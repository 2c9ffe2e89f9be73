"""Where everything is kept: sqlmodel tables and the async functions that read and write them, on a
SQLite file by default or any SQLAlchemy URL (PostgreSQL).

    hot/            the per-message path: one read, one optimistic commit (contract, sqlite, postgres)
    store.py        the rest through SQLAlchemy (Store, UserTx)
    models.py       users, conversations, submissions, outbox;  campaign_, catalogue_, channel_,
                    console_, copy_, link_models.py the other tables
    migrate.py      alembic upgrades (migrations/), run at every start: an upgrade keeps every answer
    erase.py        删除我的数据;  times.py, tables.py small helpers

Below every layer of bot/: it imports only bot.messages (the replies it stores) and bot.config.
"""
