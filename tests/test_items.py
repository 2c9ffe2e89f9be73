"""Which 申请书 belongs to which 拟揭榜事项 after the 对接表's items were moved, renamed or removed."""

from bot.dialogs.items import link_items, relinked
from storage.models import Submission


def app(id_: int, **answers) -> Submission:
    return Submission(id=id_, user_id=1, form_id="application", answers=answers)


def test_items_with_ids_keep_their_application_through_moves_and_renames():
    a, b = app(1, _item=0, _item_id="A", item_name="视觉"), app(2, _item=1, _item_id="B", item_name="机器人")
    items = [{"_id": "B", "name": "机器人二期"}, {"_id": "C", "name": "新事项"}]  # A removed, B renamed, C new
    assert link_items(items, [a, b]) == {0: b}
    assert relinked(b, 0, items[0]) == {"_item": 0, "_item_id": "B", "item_name": "机器人二期"}
    assert relinked(a, 0, {"_id": "A", "name": "视觉"}) is None


def test_older_applications_without_ids_follow_the_name_then_the_position():
    a, b = app(1, _item=0, item_name="视觉"), app(2, _item=1, item_name="机器人")
    assert link_items([{"name": "机器人"}, {"name": "视觉"}], [a, b]) == {0: b, 1: a}  # swapped
    assert link_items([{"name": "视觉二期"}, {"name": "机器人"}], [a, b]) == {0: a, 1: b}  # renamed in place
    assert link_items([{"name": "机器人"}], [a, b]) == {0: b}  # 视觉 removed: its application is left out


def test_the_newest_application_of_an_item_wins():
    old, new = app(1, _item=0, _item_id="A", item_name="视觉"), app(5, _item=0, _item_id="A", item_name="视觉")
    assert link_items([{"_id": "A", "name": "视觉"}], [old, new]) == {0: new}
