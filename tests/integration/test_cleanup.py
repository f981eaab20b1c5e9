"""`yiqikanctl cleanup`: the notification archive and the queue retention
(SPEC §4, doc/queue.md "Retention").

Read and deleted notifications older than notify.retention_days (default
30) move to notifications_archive with their columns unchanged; everything
else stays.  Queue rows older than queue.retention_hours (default 72) are
deleted.  Rows are aged with root SQL (YQ_DB_SOCKET), so the tests look only
at their own user's rows: cleanup works on the whole database, and other
tests' rows may be archived or purged by the same run.
"""

import re
import subprocess

import yq
from yq import ApiTest

COLS = "id, user_id, type, content, status, created_at, read_at, deleted_at"


class CleanupTest(ApiTest):

    def setUp(self):
        # per test, so that each one fails (never skips) without them
        yq.require_ctl()
        yq.require_db()
        self.days = yq.conf_int("notify", "retention_days", 30)
        self.hours = yq.conf_int("queue", "retention_hours", 72)

    def cleanup(self):
        p = yq.ctl("cleanup", timeout=600)
        self.assertEqual(p.returncode, 0, "cleanup failed: %r" % (p,))
        return p

    def rows(self, table, uid):
        return {int(r[0]): r for r in yq.sql(
            "SELECT %s FROM %s WHERE user_id = %d ORDER BY id;"
            % (COLS, table, uid))}

    def ids(self, table, uid):
        return set(self.rows(table, uid))

    def test_archives_exactly_old_read_and_deleted(self):
        u = yq.new_user()
        n = [yq.ctl_notify(u, "system", {"i": i, "text": "x" * i})
             for i in range(9)]
        for i in (0, 1, 3, 5, 8):
            r = yq.put("/notifications/%d/read" % n[i], token=u.access)
            self.assertStatus(r, 200)
        for i in (2, 3, 6):
            r = yq.delete("/notifications/%d" % n[i], token=u.access)
            self.assertStatus(r, 204)
        old = self.days + 10

        def ids(*ix):
            return ",".join(str(n[i]) for i in ix)
        yq.sql(
            # read long ago
            "UPDATE notifications SET created_at = NOW() - INTERVAL %d DAY, "
            "read_at = NOW() - INTERVAL %d DAY WHERE id IN (%s);\n"
            # deleted long ago (n2 unread, n3 read long ago too)
            "UPDATE notifications SET created_at = NOW() - INTERVAL %d DAY, "
            "deleted_at = NOW() - INTERVAL %d DAY WHERE id IN (%s);\n"
            # old but unread; old but read recently; old, deleted recently
            "UPDATE notifications SET created_at = NOW() - INTERVAL %d DAY "
            "WHERE id IN (%s);\n"
            # read just inside the retention
            "UPDATE notifications SET read_at = NOW() - INTERVAL %d DAY "
            "+ INTERVAL 1 HOUR WHERE id IN (%s);\n"
            % (old + 1, old, ids(0, 1, 3), old + 1, old, ids(2, 3),
               old + 5, ids(4, 5, 6), self.days, ids(8)))
        archivable = {n[0], n[1], n[2], n[3]}
        before = self.rows("notifications", u.id)
        self.assertEqual(set(before), set(n))

        p = self.cleanup()
        m = re.search(r"archived (\d+) notifications", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        self.assertGreaterEqual(int(m.group(1)), len(archivable))

        kept = self.rows("notifications", u.id)
        archived = yq.sql("SELECT %s, archived_at > NOW() - INTERVAL 10 "
                          "MINUTE FROM notifications_archive WHERE user_id = "
                          "%d ORDER BY id;" % (COLS, u.id))
        self.assertEqual({int(r[0]) for r in archived}, archivable,
                         "archived the wrong rows")
        self.assertEqual(set(kept), set(n) - archivable,
                         "kept the wrong rows")
        for r in archived:
            self.assertEqual(r[:-1], before[int(r[0])],
                             "archived row differs from the original")
            self.assertEqual(r[-1], "1", "archived_at not about now")
        for i, r in kept.items():
            self.assertEqual(r, before[i], "a kept row changed")
        # the REST view: n4, n5, n7, n8 (n6 is deleted, not yet archivable)
        r = yq.get("/notifications/", token=u.access)
        self.assertStatus(r, 200)
        self.assertEqual([i["id"] for i in r.json["items"]],
                         [n[8], n[7], n[5], n[4]])
        self.assertEqual(r.json["unread_count"], 2)

        # again: nothing more moves, nothing breaks
        self.cleanup()
        self.assertEqual(self.rows("notifications", u.id), kept)
        self.assertEqual(yq.sql("SELECT %s, 1 FROM notifications_archive "
                                "WHERE user_id = %d ORDER BY id;"
                                % (COLS, u.id)),
                         [r[:-1] + ["1"] for r in archived])

    def test_concurrent_cleanups(self):
        """Several cleanups at once: all exit 0, each archivable row is
        archived exactly once, the rest stays."""
        u = yq.register_user()
        old, n_arch, n_keep = self.days + 10, 2500, 300
        yq.sql(
            "INSERT INTO notifications (user_id, type, content, status, "
            "created_at, read_at, deleted_at) SELECT %d, 'system', "
            "CONCAT('{\"seq\":', seq, '}'), IF(seq %% 3 = 0, 'unread', "
            "'read'), NOW() - INTERVAL %d DAY, IF(seq %% 3 = 0, NULL, "
            "NOW() - INTERVAL %d DAY), IF(seq %% 3 = 0, NOW() - INTERVAL %d "
            "DAY, NULL) FROM seq_1_to_%d;\n"
            "INSERT INTO notifications (user_id, type, content, status, "
            "created_at) SELECT %d, 'system', CONCAT('{\"keep\":', seq, '}'), "
            "'unread', NOW() - INTERVAL %d DAY FROM seq_1_to_%d;\n"
            % (u.id, old + 1, old, old, n_arch, u.id, old + 1, n_keep))
        before = self.rows("notifications", u.id)
        self.assertEqual(len(before), n_arch + n_keep)
        archivable = {i for i, r in before.items() if '"seq"' in r[3]}

        procs = [yq.ctl_popen("cleanup") for _ in range(3)]
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=600)
            outs.append(out)
            self.assertEqual(p.returncode, 0, "a concurrent cleanup failed: "
                                              "%s %s" % (out, err))
        archived = [int(m.group(1)) for o in outs
                    for m in re.finditer(r"archived (\d+) notifications", o)]
        self.assertGreaterEqual(sum(archived), n_arch, "outputs: %r" % outs)

        rows = yq.sql("SELECT id FROM notifications_archive WHERE user_id = "
                      "%d;" % u.id)
        got = [int(r[0]) for r in rows]
        self.assertEqual(len(got), len(set(got)))
        self.assertEqual(set(got), archivable, "archive is missing rows or "
                                               "has extra ones")
        kept = self.rows("notifications", u.id)
        self.assertEqual(set(kept), set(before) - archivable)
        for i, r in kept.items():
            self.assertEqual(r, before[i])
        archived_rows = self.rows("notifications_archive", u.id)
        for i in archivable:
            self.assertEqual(archived_rows[i], before[i])
        # and a cleanup after them finds nothing more of ours
        self.cleanup()
        self.assertEqual(self.ids("notifications_archive", u.id),
                         archivable)

    def test_purges_old_queue_rows(self):
        u = yq.register_user()
        n = [yq.ctl_notify(u, "system", {"q": i}) for i in range(5)]
        q = [int(r[0]) for r in yq.sql(
            "SELECT id FROM event_queue WHERE target_kind = 'user' AND "
            "target_id = %d ORDER BY id;" % u.id)]
        self.assertEqual(len(q), len(n))
        yq.sql("UPDATE event_queue SET created_at = NOW(6) - INTERVAL %d HOUR "
               "WHERE id IN (%d, %d);\n"
               "UPDATE event_queue SET created_at = NOW(6) - INTERVAL %d HOUR "
               "+ INTERVAL 30 MINUTE WHERE id = %d;\n"
               % (self.hours + 28, q[0], q[2], self.hours, q[3]))
        p = self.cleanup()
        m = re.search(r"removed (\d+) queue rows", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        self.assertGreaterEqual(int(m.group(1)), 2)
        left = [int(r[0]) for r in yq.sql(
            "SELECT id FROM event_queue WHERE target_kind = 'user' AND "
            "target_id = %d ORDER BY id;" % u.id)]
        self.assertEqual(left, [q[1], q[3], q[4]])
        # the notifications themselves are not touched by the queue purge
        self.assertEqual(self.ids("notifications", u.id), set(n))
