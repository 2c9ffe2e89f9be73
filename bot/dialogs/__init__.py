"""The forms as data and what reads them, with no I/O and no screen: a form is a value, and next year's
form is a small diff in one file of forms/.

    forms/         one module a form (对接表, 申请书, 需求表): fields, labels (marked for gettext), rules
    fields.py      Field, Group, Choice, Rule, Form: what a form is made of
    validators.py  raw text → a normalised value or an error code (parse, then validate)
    errors.py      the error codes' messages; results.py Ok / Invalid / Ambiguous / Message
    walker.py      the steps that apply to a form's answers, their order, values by path
    summary.py     the review's rows (shared by the chat and the pages); printed.py what was printed
    items.py       a per-item form's items (one 申请书 per 拟揭榜事项)
    state.py       the typed conversation state; actions.py one class per kind of button
    words.py       the words that work anywhere (开始, 上一步, 状态 …)

The screens that ask these forms are bot/handlers; meaning (check digits, size classes, regions) is
bot/domain below.
"""
