"""Pure rules with no I/O: what a value means, whoever asks.

    uscc.py        统一社会信用代码: check character (GB 32100) and the region it names
    industries.py  GB/T 4754-2017 at all four levels, and search by what a firm says it does
    sme_size.py    the 2011 SME size standard (划型) from industry, staff and revenue
    regions.py     GB/T 2260 province and district names, Shanghai's districts in pinyin
    places.py      企业注册地 as the 对接表 prints it (one function for the review, the .docx, the console)
    charcount.py   how the forms count 字

Imports nothing of the bot: every other layer may use it.
"""
