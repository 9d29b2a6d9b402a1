"""The transition table is data, and the connection holds its handlers to it."""

from __future__ import annotations

import pytest

from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import Config, Connection, State
from pqe2ee.handshake import connection as conn_module
from pqe2ee.handshake import messages as m
from pqe2ee.handshake.state import TRANSITIONS, Alert

from .util import identity


def test_every_listed_message_has_one_handler_and_no_other_has_any() -> None:
    assert conn_module._HANDLERS.keys() == TRANSITIONS.keys()
    clients = {k for k in TRANSITIONS if k[0].name.startswith("CLIENT_")}
    servers = {k for k in TRANSITIONS if k[0].name.startswith("SERVER_")}
    assert clients | servers == TRANSITIONS.keys()
    for (state, _), targets in TRANSITIONS.items():
        prefix = state.name.split("_")[0]
        # a side's handshake never leads into the other side's states or ERROR/CLOSED
        assert all(t is State.CONNECTED or t.name.startswith(prefix) for t in targets)


def test_a_handler_leading_outside_the_table_fails_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = Connection(Config(), "client")
    server = Connection(Config(identity=identity()), "server")
    key = (State.SERVER_WAIT_CH, m.MSG_CLIENT_HELLO)
    monkeypatch.setitem(conn_module._HANDLERS, key, lambda hs, whole, body: State.CONNECTED)
    server.receive_data(client.data_to_send())
    with pytest.raises(RemoteProtocolError, match="may not lead to CONNECTED") as caught:
        server.next_event()
    assert caught.value.alert == Alert.INTERNAL_ERROR
    assert server.state is State.ERROR
    assert not server.handshake_complete
