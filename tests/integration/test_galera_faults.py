"""The database fails under load (SPEC sections 0 and 6; issues 11 and 12;
doc/scaling.md).

Both tests run the same load while they break the database:
- REST: users reading their profile, room members joining and leaving a
  room with max_members = 4, the owner changing the room's description;
- notifications being created (`yiqikanctl notify`, the same transaction
  as every notification) for a user whose WebSocket counts them;
- room traffic: the owner sends play_control on one ws node, a member on
  the other watches the versions.

test_database_outage_under_load (any stack): the whole database is
stopped (`devstack db-stop`: every node of a cluster) for YQ_OUTAGE_S
seconds (6; the issue's 30 s with YQ_OUTAGE_S=30), then started again.
test_db_node_killed_under_load, test_ws1_db_node_killed_under_load and
test_ws2_db_node_killed_under_load (`devstack test --galera` only): one
Galera node gets SIGKILL - the API's first choice, the one ws node 1
stands on, the one ws node 2 stands on (where most of its database
connections are: the first of its db.hosts unless an earlier fault moved
it); later
it is started again and must rejoin by IST and serve.  When it was a ws
node's, that daemon logs that it moved to another node of its db.hosts
(not the dead one), and every WebSocket stays open and gets every
notification without reconnecting: the ws nodes keep their clients.

Either way: no answer is a 500 (or anything but the statuses listed, and
503 always with Retry-After), 503s did happen in a full outage, every
notification whose creation succeeded reaches its user (counted, none
lost), the play_control versions each client sees strictly increase,
every play_control is answered (applied, or refused with `internal` when
the database failed it past its retries: never left unanswered),
member_count never exceeds max_members and agrees with the member list at
the end, the API master and the ws daemons are the same processes after
(nothing restarted), and the stack serves again.  No latency is bounded.

The module stops the database, so run.py runs it last (with
test_resilience).
"""

import asyncio
import os
import re
import subprocess
import threading
import time

import yq
import yq_rooms
from test_ws_common import WsTest, first_seen, node_pid, open_room, open_ws

OUTAGE_S = float(os.environ.get("YQ_OUTAGE_S", "6"))
MAX_MEMBERS = 4
URL = "https://media.example.com/galera.mp4"


def galera_nodes():
    try:
        with open(os.path.join(yq.STATE, "env")) as f:
            m = re.search(r"^GALERA=(\d+)$", f.read(), re.M)
        return int(m.group(1)) if m else 0
    except OSError:
        return 0


def galera_port(node):
    """The SQL port of Galera node `node` (GALERA_PORTS in the stack's env:
    "sql1 gcomm1 ist1 sst1 sql2 ...")."""
    with open(os.path.join(yq.STATE, "env")) as f:
        env = f.read()
    m = re.search(r'^GALERA_PORTS="?([0-9 ]*)"?$', env, re.M)
    if m and m.group(1).strip():
        return int(m.group(1).split()[(node - 1) * 4])
    # devstack's default: DB_PORT + node
    return int(re.search(r"^DB_PORT=(\d+)$", env, re.M).group(1)) + node


def db_peer_ports(pid):
    """The remote ports of process pid's established TCP connections to
    127.0.0.1, one per connection (/proc: its socket inodes matched with
    /proc/net/tcp)."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]$", link)
        if m:
            inodes.add(m.group(1))
    ports = []
    with open("/proc/net/tcp") as f:
        for line in f.read().splitlines()[1:]:
            col = line.split()
            remote, state, inode = col[2], col[3], col[9]
            ip, port = remote.split(":")
            if state == "01" and inode in inodes and ip == "0100007F":
                ports.append(int(port, 16))
    return ports


def ws_db_node(k):
    """The Galera node ws node k stands on: where most of its database
    connections are (the first of its db.hosts, unless an earlier fault
    moved it: a connection stays where it landed)."""
    nodes = {galera_port(i): i for i in range(1, galera_nodes() + 1)}
    count = {}
    for port in db_peer_ports(node_pid(k)):
        if port in nodes:
            count[nodes[port]] = count.get(nodes[port], 0) + 1
    if count:
        return max(sorted(count), key=lambda i: count[i])
    with open(os.path.join(yq.STATE, "ws%d.conf" % k)) as f:
        m = re.search(r"^hosts = [^:]+:(\d+)", f.read(), re.M)
    port = int(m.group(1))
    if port not in nodes:
        raise AssertionError("ws node %d's first db host %d is no Galera "
                             "node" % (k, port))
    return nodes[port]


def devstack(*args):
    p = subprocess.run([yq.DEVSTACK] + list(args),
                       env=dict(os.environ, YQ_STATE=yq.STATE), timeout=300,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise AssertionError("devstack %s failed:\n%s"
                             % (" ".join(args),
                                p.stdout.decode("utf-8", "replace")))



class Load:
    """REST and notification load in threads until stop()."""

    def __init__(self, test, owner, room, joiners, readers, recipient):
        self.t = test
        self.owner, self.room = owner, room
        self.joiners, self.readers = joiners, readers
        self.recipient = recipient
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.statuses = {}          # status -> count
        self.bad = []               # answers that break the contract
        self.counts = []            # member_count seen
        self.created = []           # notification ids created
        self.failed_notify = 0
        self.threads = []

    def record(self, r, allowed):
        with self.lock:
            self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
            if r.status not in allowed:
                self.bad.append(repr(r))
            elif r.status == 503 and not r.headers.get("retry-after"):
                self.bad.append("503 without Retry-After: %r" % (r,))

    def call(self, fn, allowed):
        try:
            r = fn()
        except AssertionError as e:   # yq's invariants: a 500, bad JSON...
            with self.lock:
                self.bad.append(str(e)[:500])
            return None
        except OSError as e:          # the front end itself must answer
            with self.lock:
                self.bad.append("no answer: %r" % (e,))
            return None
        self.record(r, allowed)
        return r

    def reader(self, u):
        while not self.stopping.is_set():
            self.call(lambda: yq.get("/users/me", token=u.access, timeout=15),
                      (200, 503))
            time.sleep(0.05)

    def joiner(self, u):
        while not self.stopping.is_set():
            self.call(lambda: yq_rooms.r_join(u, self.room), (200, 409, 503))
            r = self.call(lambda: yq_rooms.r_get(self.owner, self.room),
                          (200, 503))
            if r is not None and r.status == 200:
                with self.lock:
                    self.counts.append(r.json["member_count"])
            self.call(lambda: yq_rooms.r_leave(u, self.room),
                      (200, 204, 404, 409, 503))

    def describer(self):
        n = 0
        while not self.stopping.is_set():
            n += 1
            self.call(lambda: yq_rooms.r_config(self.owner, self.room,
                                                {"description": "d%d" % n}),
                      (200, 503))
            time.sleep(0.1)

    def notifier(self):
        n = 0
        while not self.stopping.is_set():
            n += 1
            p = yq.ctl("notify", self.recipient.id, "system",
                       '{"load": %d}' % n, timeout=60)
            m = re.search(r"^notification (\d+)$", p.stdout, re.M)
            with self.lock:
                if p.returncode == 0 and m:
                    self.created.append(int(m.group(1)))
                else:
                    self.failed_notify += 1
            if not (p.returncode == 0 and m):
                time.sleep(0.2)

    def start(self):
        fns = [self.describer, self.notifier]
        fns += [lambda u=u: self.reader(u) for u in self.readers]
        fns += [lambda u=u: self.joiner(u) for u in self.joiners]
        for fn in fns:
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(120)


class DatabaseFaultTest(WsTest):

    limit = 400

    def setUp(self):
        yq.require_ctl()
        self.need_nodes(2)
        self.db_down = False
        self.addCleanup(self.restore)

    def restore(self):
        if self.db_down:
            devstack("db-start")
            self.db_down = False

    def prepare(self):
        owner, watcher, recipient = yq_rooms.new_users(3)
        joiners = yq_rooms.new_users(6)
        readers = yq_rooms.new_users(2)
        room = self.create_room(owner, max_members=MAX_MEMBERS,
                                is_public=True)
        self.join(watcher, room)
        return owner, watcher, recipient, room, joiners, readers

    def run_fault(self, fault, heal, full_outage, keep_clients=False):
        owner, watcher, recipient, room, joiners, readers = self.prepare()
        load = Load(self, owner, room, joiners, readers, recipient)
        pids = (yq.api_master_pid(), node_pid(1), node_pid(2))

        async def body():
            inbox = await open_ws("/ws", recipient, node=1)
            await inbox.ready()
            inbox.start_keepalive()
            ctl, _ = await open_room(owner, room, node=1)
            obs, _ = await open_room(watcher, room, node=2)
            await ctl.ok("play_control", {"action": "load", "media_url": URL})
            stop = asyncio.Event()
            acks, refusals, unanswered = [], [], []

            async def control():
                pos = 0
                while not stop.is_set():
                    pos += 1000
                    try:
                        m = await ctl.call("play_control",
                                           {"action": "seek",
                                            "position_ms": pos}, timeout=20)
                    except AssertionError as e:
                        m = None
                        if ctl.ws.close_code is None:
                            unanswered.append(str(e)[:200])
                    if m and m["type"] == "play_control":
                        acks.append(m["payload"]["version"])
                    elif m:
                        refusals.append(m)
                    await asyncio.sleep(0.15)
            async def watch():
                while not stop.is_set():
                    await obs.collect(0.5)
                    if obs.ws.close_code is not None:
                        break
            controller = asyncio.ensure_future(control())
            watcher_task = asyncio.ensure_future(watch())

            load.start()
            await asyncio.sleep(2)
            await asyncio.to_thread(fault)
            await asyncio.sleep(OUTAGE_S)
            await asyncio.to_thread(heal)
            # the stack serves again: ten answers in a row from the API
            u = readers[0]
            streak, deadline = 0, time.monotonic() + 60
            while streak < 10 and time.monotonic() < deadline:
                r = await asyncio.to_thread(yq.get, "/users/me",
                                            token=u.access, timeout=15)
                streak = streak + 1 if r.status == 200 else 0
                if r.status != 200:
                    await asyncio.sleep(0.2)
            self.assertEqual(streak, 10, "the API did not come back")
            await asyncio.sleep(2)          # some load on the healed stack
            stop.set()
            await controller
            await watcher_task
            await asyncio.to_thread(load.stop)

            # every notification created reaches the recipient: what the
            # open socket got, then a reconnect asking for what it missed
            created = sorted(load.created)
            got = set()

            def take(msgs):
                for m in first_seen([x for x in msgs
                                     if x["type"] == "notification"]):
                    got.add(m["payload"]["id"])
            loop_deadline = time.monotonic() + 30
            while not set(created) <= got and \
                    time.monotonic() < loop_deadline:
                take(await inbox.collect(0.5, lambda m: m["type"] ==
                                         "notification"))
                if inbox.ws.close_code is not None:
                    break
            if keep_clients:
                # the ws nodes kept their clients: every socket is still
                # open and got everything without reconnecting
                for name, c in (("inbox", inbox), ("controller", ctl),
                                ("watcher", obs)):
                    self.assertIsNone(c.ws.close_code, "the %s's socket "
                                      "was closed" % name)
                lost = sorted(set(created) - got)
                self.assertFalse(lost, "%d of %d notifications never came "
                                 "on the open socket, e.g. %r"
                                 % (len(lost), len(created), lost[:10]))
            if not set(created) <= got:
                last = max([i for i in got] + [0])
                again = await open_ws("/ws", recipient, query={
                    "last_notification_id": str(min(created) - 1)
                    if created else str(last)})
                await again.ready()
                take(again.pending)
                take(await again.collect(2))
            lost = sorted(set(created) - got)
            self.assertFalse(lost, "%d of %d notifications never arrived, "
                             "e.g. %r" % (len(lost), len(created), lost[:10]))
            self.assertTrue(created, "no notification was created at all")

            # the watcher saw strictly increasing versions, the owner too
            seen = [m["payload"]["version"] for m in
                    obs.received if m["type"] == "play_control"]
            for name, vs in (("watcher", seen), ("controller", acks)):
                bad = [(a, b) for a, b in zip(vs, vs[1:]) if b <= a]
                self.assertFalse(bad, "%s: versions not increasing: %r"
                                 % (name, bad[:5]))
            self.assertTrue(acks, "no play_control was accepted")
            # every play_control is answered: applied, or refused because
            # the database failed it (never silence, never another error)
            self.assertFalse(unanswered, "%d play_control got no answer in "
                             "20 s, e.g. %s" % (len(unanswered),
                                                unanswered[0:1]))
            odd = [m for m in refusals if m["type"] != "error" or
                   m["payload"].get("code") != "internal" or
                   "database" not in m["payload"].get("message", "")]
            self.assertFalse(odd, "play_control answered with %r" % odd[:3])
            self.pc_refused = len(refusals)
            self.assertTrue(seen, "the watcher on the other node saw no "
                            "play_control")
            return created, len(seen), len(acks)

        created, nseen, nacks = self.run_async(body())
        self.assertFalse(load.bad, "%d answers broke the contract, e.g.:\n%s"
                         % (len(load.bad), "\n".join(load.bad[:5])))
        if full_outage:
            self.assertGreater(load.statuses.get(503, 0), 0,
                               "the database was down and nothing said 503")
        over = [c for c in load.counts if c > MAX_MEMBERS]
        self.assertFalse(over, "member_count above max_members: %r" % over)
        items = self.members(owner, room)
        view = yq_rooms.r_get(owner, room).json
        self.assertEqual(view["member_count"], len(items),
                         "member_count %d, %d members listed"
                         % (view["member_count"], len(items)))
        self.assertLessEqual(len(items), MAX_MEMBERS)
        self.assertEqual((yq.api_master_pid(), node_pid(1), node_pid(2)), pids,
                         "a process was restarted")
        print("  [db-fault] answers %r; %d notifications created (%d "
              "refused), all delivered; %d play_control acks (%d refused: "
              "database), %d seen"
              % (dict(sorted(load.statuses.items())), len(created),
                 load.failed_notify, nacks, self.pc_refused, nseen),
              flush=True)

    def test_database_outage_under_load(self):
        def stop():
            self.db_down = True
            devstack("db-stop")

        def start():
            devstack("db-start")
            self.db_down = False
        self.run_fault(stop, start, True)

    def kill_db_node(self, victim=None, ws_node=None):
        """SIGKILL Galera node `victim` under the load, start it again; it
        rejoins by IST and serves.  With ws_node, the victim is the node
        that ws node stands on: the daemon must move to another of its
        db.hosts and keep its clients (run_fault's keep_clients)."""
        if galera_nodes() < 3:
            self.skipTest("needs a Galera cluster (./devstack test runs "
                          "these on one)")
        if ws_node is not None:
            victim = ws_db_node(ws_node)
        log = os.path.join(yq.STATE, "galera", "n%d" % victim, "log",
                           "mysqld.log")
        applog = os.path.join(yq.STATE, "log", "yiqikan.log")
        self.addCleanup(devstack, "galera-start", str(victim))
        at = {}

        def kill():
            for name, path in (("db", log), ("app", applog)):
                with open(path, "rb") as f:
                    f.seek(0, 2)
                    at[name] = f.tell()
            devstack("galera-kill", str(victim))

        def rejoin():
            devstack("galera-start", str(victim))
        self.run_fault(kill, rejoin, False, keep_clients=ws_node is not None)
        with open(log, "rb") as f:
            f.seek(at["db"])
            text = f.read().decode("utf-8", "replace")
        self.assertRegex(text, r"IST received|Receiving IST",
                         "node %d did not rejoin by IST" % victim)
        if ws_node is not None:
            # the daemon said where it went: another node of its db.hosts
            with open(applog, "rb") as f:
                f.seek(at["app"])
                text = f.read().decode("utf-8", "replace")
            moves = re.findall(r"yiqikan-ws\[%d\].*database: moved to "
                               r"127\.0\.0\.1:(\d+)" % node_pid(ws_node), text)
            self.assertTrue(moves, "ws node %d never moved to another "
                            "database node" % ws_node)
            self.assertNotIn(galera_port(victim), {int(p) for p in moves},
                             "ws node %d moved to the dead node" % ws_node)
        # and it serves: it has the rows written while it was dead
        sock = os.path.join(yq.STATE, "galera", "n%d" % victim, "mysqld.sock")
        top = yq.sql_value("SELECT MAX(id) FROM notifications;")
        p = subprocess.run(["mariadb", "--socket=" + sock, "-uroot", "-N",
                            "-B", "yiqikan", "-e",
                            "SET SESSION wsrep_sync_wait = 1; "
                            "SELECT MAX(id) FROM notifications;"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), top)

    def test_db_node_killed_under_load(self):
        # node 1: the API's (and yiqikanctl's) first choice
        self.kill_db_node(victim=1)

    def test_ws1_db_node_killed_under_load(self):
        self.kill_db_node(ws_node=1)

    def test_ws2_db_node_killed_under_load(self):
        self.kill_db_node(ws_node=2)
