#!/usr/bin/python3
"""What one write costs: a single server against a Galera node.

  YQ_STATE=... tests/bench/dbwrite.py [--commits N] [--clients C] [--rows R]

Runs against the stack in $YQ_STATE (./devstack up, or up --galera 3), as
root over the unix socket(s) of its MariaDB (node 1, and on a cluster also
node 2 for the cross-node figures):

1. N autocommit INSERTs into a scratch table, one client: commits/s and
   the mean time of one commit (round trip + certification + replication
   on Galera);
2. the same with C clients at once;
3. C clients on node 1 and C on node 2 updating one row each of their own
   (no conflicts) and then the same row (every commit conflicts: Galera
   answers 1213 at COMMIT; the retries are counted) - on a cluster only;
4. R event_queue rows inserted in one statement, then read back by
   `yiqikanctl queue-tail --count R` in id order and in commit order
   (YIQIKAN_QUEUE_ORDER): the rows per second one tail can carry.

Prints one line per figure and a JSON object at the end.  The scratch
table and the queue rows are removed afterwards.  Not part of
./devstack test: it measures, it asserts nothing.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

STATE = os.environ.get("YQ_STATE", "")


def env():
    out = {}
    with open(os.path.join(STATE, "env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            out[k] = v.strip('"')
    return out


def sock(node):
    if node == 1 and not os.path.isdir(os.path.join(STATE, "galera")):
        return os.path.join(STATE, "run", "mysqld.sock")
    return os.path.join(STATE, "galera", "n%d" % node, "mysqld.sock")


def client(node, script, timeout=600):
    p = subprocess.run(["mariadb", "--socket=" + sock(node), "-uroot", "-N",
                        "-B", "yiqikan"], input=script, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        raise SystemExit("mariadb failed: %s" % p.stderr[-2000:])
    return p.stdout


def timed_clients(jobs):
    """jobs: [(node, script)]; run them at once; seconds until all end."""
    errs = []

    def run(node, script):
        try:
            client(node, script)
        except SystemExit as e:
            errs.append(str(e))
    ts = [threading.Thread(target=run, args=j) for j in jobs]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise SystemExit(errs[0])
    return time.monotonic() - t0


def inserts(n, tag):
    return "".join("INSERT INTO yq_bench_w (tag, n) VALUES ('%s', %d);\n"
                   % (tag, i) for i in range(n))


def conflict_script(n, row):
    # a retry loop in SQL: a certification failure (1213) rolls the
    # transaction back; the handler counts it and the loop runs it again
    return """
DELIMITER //
CREATE OR REPLACE PROCEDURE yq_bench_upd_%(row)d_%(uniq)s(IN k INT)
BEGIN
  DECLARE done INT DEFAULT 0;
  DECLARE i INT DEFAULT 0;
  WHILE i < %(n)d DO
    BEGIN
      DECLARE CONTINUE HANDLER FOR 1213 BEGIN
        UPDATE yq_bench_retry SET n = n + 1 WHERE id = 1; SET done = 0; END;
      SET done = 1;
      UPDATE yq_bench_c SET v = v + 1 WHERE id = k;
    END;
    IF done = 1 THEN SET i = i + 1; END IF;
  END WHILE;
END//
DELIMITER ;
CALL yq_bench_upd_%(row)d_%(uniq)s(%(row)d);
DROP PROCEDURE yq_bench_upd_%(row)d_%(uniq)s;
""" % {"n": n, "row": row, "uniq": os.urandom(3).hex()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rows", type=int, default=20000)
    a = ap.parse_args()
    e = env()
    galera = int(e.get("GALERA") or 0)
    res = {"galera_nodes": galera}
    client(1, "CREATE TABLE IF NOT EXISTS yq_bench_w (id BIGINT "
              "AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(16), n INT) "
              "ENGINE=InnoDB;\n"
              "CREATE TABLE IF NOT EXISTS yq_bench_c (id INT PRIMARY KEY, "
              "v BIGINT) ENGINE=InnoDB;\n"
              "CREATE TABLE IF NOT EXISTS yq_bench_retry (id INT PRIMARY KEY,"
              " n BIGINT) ENGINE=InnoDB;\n"
              "REPLACE INTO yq_bench_c VALUES (1, 0), (2, 0), (3, 0);\n"
              "REPLACE INTO yq_bench_retry VALUES (1, 0);\n")
    try:
        dt = timed_clients([(1, inserts(a.commits, "one"))])
        res["one_client_commits_s"] = a.commits / dt
        res["one_client_ms_per_commit"] = dt * 1000 / a.commits
        print("1 client, %d autocommit INSERTs: %.0f commits/s, %.2f ms each"
              % (a.commits, a.commits / dt, dt * 1000 / a.commits))
        per = a.commits // a.clients
        dt = timed_clients([(1, inserts(per, "c%d" % c))
                            for c in range(a.clients)])
        res["clients"] = a.clients
        res["n_clients_commits_s"] = per * a.clients / dt
        print("%d clients: %.0f commits/s" % (a.clients,
                                               per * a.clients / dt))
        if galera >= 2:
            per = 300
            dt = timed_clients([(1, conflict_script(per, 1)),
                                (2, conflict_script(per, 2))])
            res["two_nodes_own_rows_commits_s"] = 2 * per / dt
            print("node 1 and node 2, each its own row: %.0f commits/s"
                  % (2 * per / dt))
            client(1, "UPDATE yq_bench_retry SET n = 0 WHERE id = 1;")
            dt = timed_clients([(1, conflict_script(per, 3)),
                                (2, conflict_script(per, 3))])
            retries = int(client(1, "SELECT n FROM yq_bench_retry WHERE "
                                    "id = 1;").strip())
            res["two_nodes_one_row_commits_s"] = 2 * per / dt
            res["two_nodes_one_row_retries"] = retries
            print("node 1 and node 2, one row: %.0f commits/s, %d "
                  "certification failures retried for %d commits"
                  % (2 * per / dt, retries, 2 * per))
        # the queue tail
        tag = "bench" + os.urandom(4).hex()
        values = ",\n".join("('room', %d, 'bench', '{\"i\":%d,\"t\":\"%s\"}')"
                            % ((1 << 41), i, tag) for i in range(a.rows))
        lo = int(client(1, "INSERT INTO event_queue (target_kind, target_id,"
                           " type, payload) VALUES\n" + values + ";\n"
                           "SELECT MIN(id) FROM event_queue WHERE "
                           "target_id = %d AND payload LIKE '%%%s%%';"
                           % ((1 << 41), tag)).strip())
        ctl = os.path.join(e["BUILD"], "yiqikanctl")
        conf = os.path.join(STATE, "yiqikan.conf")
        for order in ("id", "commit"):
            t0 = time.monotonic()
            p = subprocess.run([ctl, "-c", conf, "queue-tail", "--after",
                                str(lo - 1), "--count", str(a.rows),
                                "--timeout", "300"],
                               env=dict(os.environ,
                                        YIQIKAN_QUEUE_ORDER=order),
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            dt = time.monotonic() - t0
            m = re.search(r"queue-tail: (\d+) events", p.stderr)
            got = int(m.group(1)) if m else 0
            res["tail_rows_s_" + order] = got / dt
            print("queue-tail, %s order: %d rows in %.2f s = %.0f rows/s "
                  "(process start included)" % (order, got, dt, got / dt))
        client(1, "DELETE FROM event_queue WHERE target_id = %d AND payload "
                  "LIKE '%%%s%%';" % ((1 << 41), tag))
    finally:
        client(1, "DROP TABLE IF EXISTS yq_bench_w, yq_bench_c, "
                  "yq_bench_retry;")
    print(json.dumps(res, sort_keys=True))


if __name__ == "__main__":
    if not STATE:
        sys.exit("set YQ_STATE to the stack's state directory")
    main()
