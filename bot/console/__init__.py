"""The district office's console: officers log in (invites, argon2id passwords), see their district's
firms and forms, give verdicts with reasons (which the firm hears in its chat) and export the roll-up.

    auth.py     invites, logins, sessions and the refusals they count
    firms.py    the firms of a district and their forms, as the officer's pages and exports read them
    review.py   a verdict on a form: its state, the reason, the message to the firm
    web.py      the pages (aiohttp + jinja2, templates/) mounted on `serve`

Beside the channels (bot/adapters) and the user's pages (bot/web); below `serve` only.
"""
