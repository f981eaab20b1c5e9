"""A late queue row does not set a room's playback back (doc/queue.md:
late rows; issue 12).

On a Galera cluster a transaction whose queue id was taken long before its
commit (a cluster stalled while a dead node is evicted) can be read after
rows committed later: the reader delivers it `late`.  The first run of
test_db_node_killed_under_load in ./devstack test saw a watcher on the
other ws node get play_control version 41 and then 40.  For play_control
and progress_sync the version says which state is newer: a ws node
broadcasts one from the queue only when it is newer than the room's, so a
late or repeated row is dropped and no client is set back.

This test writes such rows itself, as another node would (origin
"elsewhere"), so it runs on any stack with two ws nodes: after the owner's
load (v - 1) and seek (v) on ws node 1, rows of versions v - 1 (late),
v (a repeat) and v + 1 arrive through the queue; the watcher on ws node 2
sees v - 1, v, v + 1, each once, in that order, and never the stale rows'
positions.
"""

import json

import yq
import yq_rooms
from test_ws_common import WsTest, now_ms, open_room

URL = "https://media.example.com/late.mp4"


def queue_row(room, version, position_ms):
    payload = json.dumps({
        "action": "seek", "position_ms": position_ms, "state": "paused",
        "rate": 1.0, "media_url": URL, "version": version,
        "by": {"id": 1, "username": "elsewhere"}, "server_ts": now_ms(),
        "execute_at_ms": now_ms()})
    assert "'" not in payload and "\\" not in payload
    yq.sql("INSERT INTO event_queue (target_kind, target_id, type, payload, "
           "origin) VALUES ('room', %d, 'play_control', '%s', 'elsewhere');"
           % (room, payload))


class LatePlaybackRowTest(WsTest):

    def test_stale_playback_row_is_not_broadcast(self):
        self.need_nodes(2)
        owner, watcher = yq_rooms.new_users(2)
        room = self.create_room(owner)
        self.join(watcher, room)

        async def body():
            ctl, _ = await open_room(owner, room, node=1)
            obs, _ = await open_room(watcher, room, node=2)
            await ctl.ok("play_control", {"action": "load", "media_url": URL})
            m = await ctl.ok("play_control", {"action": "seek",
                                              "position_ms": 5000})
            v = m["payload"]["version"]
            await obs.expect(lambda x: x["type"] == "play_control" and
                             x["payload"]["version"] == v, timeout=10,
                             what="the seek on the other node")
            queue_row(room["id"], v - 1, 1111)    # late
            queue_row(room["id"], v, 2222)        # a repeat
            queue_row(room["id"], v + 1, 3333)    # newer
            for c in (obs, ctl):
                await c.expect(lambda x: x["type"] == "play_control" and
                               x["payload"]["version"] == v + 1, timeout=10,
                               what="the newer row")
            await obs.collect(1.0)          # anything after it
            await ctl.collect(0.2)
            got = [(x["payload"]["version"], x["payload"]["position_ms"])
                   for x in obs.received if x["type"] == "play_control"]
            self.assertEqual([g[0] for g in got], [v - 1, v, v + 1],
                             "the watcher's play_control: %r" % got)
            self.assertEqual(got[-1][1], 3333)
            self.assertFalse({1111, 2222} & {g[1] for g in got},
                             "a stale row reached the watcher: %r" % got)
            # the writer's node drops them too
            mine = [x["payload"]["version"] for x in ctl.received
                    if x["type"] == "play_control"]
            self.assertEqual(mine, [v - 1, v, v + 1],
                             "the controller's play_control: %r" % mine)
        self.run_async(body())
