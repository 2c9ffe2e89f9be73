"""The screens: what answers a message, by where the user stands (bot/dialogs/state.py Screen).

    context.py    what a screen gets for one message (Ctx): the user's rows, typed state, language, buttons
    session.py    one open form bound to its submission for one message (FormSession)
    navigate.py   the table of screens by name: show / handle / resume, so no screen imports another's module
    form/         the screens of an open form: draw, answer, edit, confirm, and their screen classes
    menu.py       who you are (发榜 or 揭榜) and your forms       privacy.py   删除我的数据, asked once
    commands.py   what the words that work anywhere do (the table of words is bot/dialogs/words.py)
    scenes.py     a deep link's or QR code's scene (/start sme_pudong)

Below them: the forms as data and their walker (bot/dialogs), the documents, campaigns and catalogue;
above them only the engine. Importing this package fills the table of navigate.py with every screen.
"""

from bot.handlers import navigate
from bot.handlers.form.screens import SCREENS as FORM_SCREENS
from bot.handlers.menu import MenuScreen
from bot.handlers.privacy import PrivacyScreen

navigate.register(*FORM_SCREENS, MenuScreen(), PrivacyScreen())
