"""A notification and its queue row exist together or not at all (SPEC §4,
doc/queue.md "Writers").

`yiqikanctl notify` inserts the notification and its event_queue row in one
transaction.  These tests break the second insert while the first one has
already run, with root access to the stack's MariaDB (YQ_DB_SOCKET):

- a BEFORE INSERT trigger on event_queue sleeps, and the connection is
  killed in the middle of the queue insert;
- a trigger makes the queue insert fail with an error;
- event_queue is renamed away for a moment.

Each time the command must fail and leave neither row behind.  The
triggers only act on rows for the test's own user; the rename affects the
whole stack for well under a second.  Everything is restored in cleanups,
and setUp repairs what an interrupted earlier run may have left.
"""

import json
import time

import yq
from yq import ApiTest

TRIGGER = "t_slow"
FAIL_TRIGGER = "t_yq_fail"


def restore_schema():
    yq.sql("DROP TRIGGER IF EXISTS %s; DROP TRIGGER IF EXISTS %s;"
           % (TRIGGER, FAIL_TRIGGER))
    tables = {r[0] for r in yq.sql(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE "
        "TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN "
        "('event_queue', 'event_queue_off');")}
    if "event_queue_off" in tables and "event_queue" not in tables:
        yq.sql("RENAME TABLE event_queue_off TO event_queue;")


class QueueFaultsTest(ApiTest):

    def setUp(self):
        yq.require_ctl()
        yq.require_db()
        restore_schema()
        self.addCleanup(restore_schema)
        self.user = yq.register_user()

    def rows_for(self, uid, content=None):
        """(notifications, queue rows) for the user [with that content]."""
        cond = ""
        if content is not None:
            cond = " AND content = %s" % yq.sql_quote(content)
        n = yq.sql_int("SELECT COUNT(*) FROM notifications WHERE user_id = %d"
                       "%s;" % (uid, cond))
        q = yq.sql_int("SELECT COUNT(*) FROM event_queue WHERE "
                       "target_kind = 'user' AND target_id = %d;" % uid)
        return n, q

    def assertNothingFor(self, uid, what):
        n, q = self.rows_for(uid)
        self.assertEqual((n, q), (0, 0), "%s left %d notification rows and %d "
                                         "queue rows" % (what, n, q))

    def assertNotifyStillWorks(self, uid):
        nid = yq.ctl_notify(uid, "system", {"after": "restore"})
        self.assertEqual(self.rows_for(uid), (1, 1))
        payload = json.loads(yq.sql_value(
            "SELECT payload FROM event_queue WHERE target_kind = 'user' AND "
            "target_id = %d;" % uid))
        self.assertEqual(payload["id"], nid)

    def test_killed_during_queue_insert(self):
        uid = self.user.id
        yq.sql("CREATE TRIGGER %s BEFORE INSERT ON event_queue FOR EACH ROW "
               "SET @x = IF(NEW.target_kind = 'user' AND NEW.target_id = %d, "
               "SLEEP(5), 0);" % (TRIGGER, uid))
        content = '{"k":1}'
        p = yq.ctl_popen("notify", uid, "system", content)
        try:
            conn = yq.wait_for(lambda: yq.sql_value(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE "
                "STATE = 'User sleep' AND INFO LIKE %s AND "
                "ID <> CONNECTION_ID();"
                % yq.sql_quote("%%NEW.target_id = %d,%%" % uid)), 10,
                what="yiqikanctl's queue insert to reach the trigger's sleep")
            # (the sleeping statement shows as the trigger's body)
            # the notification row is inserted but not committed: invisible
            self.assertEqual(self.rows_for(uid), (0, 0),
                             "the notification row was committed before its "
                             "queue row")
            yq.sql("KILL CONNECTION %s;" % conn)
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertNotEqual(p.returncode, 0, "notify succeeded although its "
                                             "connection was killed: %s" % out)
        self.assertNotIn("notification ", out)
        self.assertNothingFor(uid, "a killed notify")
        yq.sql("DROP TRIGGER %s;" % TRIGGER)
        self.assertNotifyStillWorks(uid)

    def test_queue_insert_error(self):
        uid = self.user.id
        yq.sql("DELIMITER //\n"
               "CREATE TRIGGER %s BEFORE INSERT ON event_queue FOR EACH ROW "
               "BEGIN IF NEW.target_kind = 'user' AND NEW.target_id = %d THEN "
               "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'yq test: queue "
               "insert refused'; END IF; END//\nDELIMITER ;\n"
               % (FAIL_TRIGGER, uid))
        p = yq.ctl("notify", uid, "system", '{"k":2}')
        self.assertNotEqual(p.returncode, 0, "%r" % (p,))
        self.assertNotIn("notification ", p.stdout)
        self.assertNothingFor(uid, "a notify whose queue insert failed")
        yq.sql("DROP TRIGGER %s;" % FAIL_TRIGGER)
        self.assertNotifyStillWorks(uid)

    def test_queue_table_missing(self):
        uid = self.user.id
        try:
            yq.sql("RENAME TABLE event_queue TO event_queue_off;")
            t0 = time.monotonic()
            p = yq.ctl("notify", uid, "system", '{"k":3}', timeout=30)
        finally:
            yq.sql("RENAME TABLE event_queue_off TO event_queue;")
        self.assertLess(time.monotonic() - t0, 30)
        self.assertNotEqual(p.returncode, 0, "%r" % (p,))
        self.assertNotIn("notification ", p.stdout)
        self.assertNothingFor(uid, "a notify without a queue table")
        self.assertNotifyStillWorks(uid)
