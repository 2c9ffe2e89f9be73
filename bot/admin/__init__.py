"""`python -m bot admin …`: the operator's commands — campaigns, deadlines, contacts, users' progress, the
roll-up, form states, the 需求目录 and the district console's officers.

    python -m bot admin campaigns
    python -m bot admin load-campaign 2025-shanghai.yaml --dry-run
    python -m bot admin add-campaign 2025-shanghai --copy-from 2024-shanghai --year 2025 --number 沪经信企〔2025〕…号
    python -m bot admin set-deadline 2025-shanghai large_need 2025-07-20
    python -m bot admin import-contacts 2025-shanghai 附件1.xlsx
    python -m bot admin users --campaign 2025-shanghai
    python -m bot admin export rollup.xlsx
    python -m bot admin set-status telegram:12345 sme_match returned --note "缺营业执照复印件"
    python -m bot admin import-catalogue 2024-national 需求目录.xlsx
    python -m bot admin propose-need 2024-national 57 --code 2024-SH-201
    python -m bot admin invite-officer 2024-shanghai 浦东 zhang@pudong.gov.cn

A deadline change or a new form state is announced to the users it concerns (outbox + a push by the
serving process); a deadline announced to more than deadlines.ASK_ABOVE users is confirmed first (or --yes).
Every command upgrades the database schema first. Bad input (a missing file, a date in the past) gets
one line starting with 错误：, never a traceback; a campaign pack with problems gets that line and then one
line per problem, "file:line: where: what".

One module per group of commands, each adding its own commands and their arguments (`add_commands`):
campaigns (campaigns, show, add-campaign, edit-campaign, enable, disable), packs (load-campaign), deadlines
(set-deadline, plan), contacts (import-contacts), users (users, export, set-status, delete-user), catalogue
(import-catalogue, catalogue, propose-need, withdraw-need), console (invite-officer, officers) and database
(migrate, backup, restore). cli builds `admin`'s parser from them and runs the chosen command; shared holds
what they share. The groups import shared, never each
other; the package sits at the top: only bot/__main__.py imports it.
"""

from bot.admin.cli import add_parser, run

__all__ = ["add_parser", "run"]
