"""Typed button actions: they pack into payloads of at most 64 bytes and unpack back; anything else is stale."""

from __future__ import annotations

import pytest

from bot.dialogs import actions as a
from bot.dialogs.state import ConversationState, Keyboard, Screen

EVERY_KIND = [a.Command("status"), a.PickRole("sme"), a.OpenForm("application:3"), a.Choose(2), a.Toggle(1, True),
              a.Toggle(4, False), a.Done(), a.PickOffered(0), a.AcceptComputed(), a.UseProfile(True),
              a.UseProfile(False), a.Confirm(), a.EditList(), a.EditField("items.12.name"), a.ItemMenu("items", 1),
              a.RemoveItem("needs", 0), a.RemoveItem("items", 2, True), a.StartForm("all"), a.MoveItemUp("items", 3), a.AddItem("items"), a.Pause(True), a.Back(),
              a.Skip(), a.Preview(), a.Cancel()]


@pytest.mark.parametrize("act", EVERY_KIND, ids=lambda x: type(x).__name__)
def test_every_action_packs_and_unpacks_to_itself(act):
    data = a.payload(act, 41)
    assert len(data.encode()) <= 64
    assert a.parse(data) == ((None if isinstance(act, a.Command) else 41), act)


def test_a_payload_over_64_bytes_is_refused_when_the_button_is_built_not_when_sent():
    with pytest.raises(a.PayloadTooLong):
        a.payload(a.EditField("items.0." + "x" * 60), 1)


@pytest.mark.parametrize("data", ["", "7", "7:", "7:zz:1", "7:c", "7:c:x", "7:t:1:2", "7:t:1", "x" * 65,
                                  "cmd", "7:cmd:status", "c:1", "1:role:sme", "5:confirm", "二:c:1"])
def test_what_does_not_parse_is_none(data):
    assert a.parse(data) is None


def test_a_toggle_keeps_its_identity_whatever_state_it_sets():
    assert a.Toggle(2, True).identity() == a.Toggle(2, False).identity() != a.Toggle(3, True).identity()


def test_todays_stored_conversations_are_read():
    """A row written before the typed state: old key names, old button strings (typed numbers still work)."""
    old = {"mode": "ask", "token": 7, "form": "sme_match", "sub": 3, "at": "reg_date", "at_path": "reg_date",
           "tries": 2, "pending": [["65", "65 软件和信息技术服务业"]], "buttons": [["国有", "c0"], ["民营", "c1"]],
           "buttons_multi": False, "unknown": {"dropped": True}}
    s = ConversationState.from_json(old)
    assert (s.screen, s.form, s.submission, s.position, s.tries, s.stamp) == (Screen.ASK, "sme_match", 3,
                                                                              "reg_date", 2, 7)
    assert s.offered == [("65", "65 软件和信息技术服务业")]
    assert s.keyboard is not None and s.keyboard.actions() == [("国有", a.Choose(0)), ("民营", a.Choose(1))]
    assert "unknown" not in s.to_json() and ConversationState.from_json(s.to_json()) == s


def test_a_state_round_trips_through_json():
    s = ConversationState(screen=Screen.EDIT, form="application:1", submission=9, position="items.1.code",
                          group="items.1", tries=1, offered=[("36", "36 汽车制造业")], toggles=[0, 2],
                          parts=["第一段", "第二段"], computed="小型", fresh=True,
                          keyboard=Keyboard([("完成", a.Done().pack())], multi=True), stamp=12, view="edit|x")
    assert ConversationState.from_json(s.to_json()) == s
