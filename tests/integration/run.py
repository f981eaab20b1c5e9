#!/usr/bin/python3
"""Runner for the yiqikan black-box integration tests.

  /usr/bin/python3 tests/integration/run.py [substring filters...]

Loads every tests/integration/test_*.py, keeps the tests whose id
(module.Class.test_name) contains one of the filters (all of them when no
filter is given), and runs them with unittest against the stack named by
YQ_BASE_URL, YQ_STATE, YQ_DEVSTACK and YQ_CONF (see yq.py).

Modules run in name order, except that the ones in LAST run at the end:
test_resilience stops the database and kills workers, and everything else
should see a stack that has not been through that (test_galera_faults
stops the database and kills Galera nodes under load).

Output: one line per test as it finishes, then every failure with its
traceback, then one last line exactly of the form

  N passed, N failed            (or "N passed, N failed, N skipped")

Skipped tests are not passed.  A test with failing subtests counts as one
failure.  Exit status is 0 only when nothing failed and something passed.
"""

import importlib
import os
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LAST = ["test_galera_faults", "test_resilience"]


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


class Result(unittest.TestResult):
    """Counts tests (not subtests) and prints a line for each."""

    def __init__(self):
        super().__init__()
        self.passed = []
        self.failed_ids = []
        self.reports = []       # (kind, description, traceback text)
        self.skips = []
        self._t0 = 0.0
        self._reported = set()      # tests that already have their line

    def _line(self, word, test, extra=""):
        self._reported.add(test.id())
        dt = time.monotonic() - self._t0
        print("%-5s %s (%.2fs)%s" % (word, test.id(), dt, extra), flush=True)

    def _fail(self, kind, test, err, label=None):
        tid = test.id()
        if tid not in self.failed_ids:
            self.failed_ids.append(tid)
        self.reports.append((kind, label or tid,
                             self._exc_info_to_string(err, test)))

    def startTest(self, test):
        super().startTest(test)
        self._t0 = time.monotonic()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test.id())
        self._line("ok", test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail("FAIL", test, err)
        self._line("FAIL", test)

    def addError(self, test, err):
        super().addError(test, err)
        self._fail("ERROR", test, err)
        self._line("ERROR", test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "FAIL" if issubclass(err[0], test.failureException) \
                else "ERROR"
            self._fail(kind, test, err, label=subtest.id())
            print("  %-5s %s" % (kind, subtest._subDescription()), flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.skips.append(test.id())
        self._line("skip", test, ": " + reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed.append(test.id())
        self._line("ok", test, " (expected failure)")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        if test.id() not in self.failed_ids:
            self.failed_ids.append(test.id())
        self.reports.append(("FAIL", test.id(), "unexpected success\n"))
        self._line("FAIL", test, " (unexpected success)")

    def stopTest(self, test):
        super().stopTest(test)
        # A test whose only failures were in subtests gets neither
        # addSuccess nor addFailure: report it here, as one failed test.
        if test.id() in self.failed_ids:
            if test.id() in self.passed:
                self.passed.remove(test.id())
            if test.id() not in self._reported:
                self._line("FAIL", test)
        self._reported.add(test.id())


def load(filters):
    names = sorted(f[:-3] for f in os.listdir(HERE)
                   if f.startswith("test_") and f.endswith(".py"))
    names = [n for n in names if n not in LAST] + \
            [n for n in LAST if n in names]
    loader = unittest.TestLoader()
    tests, broken = [], []
    for name in names:
        try:
            mod = importlib.import_module(name)
        except Exception:
            broken.append((name, sys.exc_info()))
            continue
        for t in flatten(loader.loadTestsFromModule(mod)):
            if not filters or any(f in t.id() for f in filters):
                tests.append(t)
    return tests, broken


def main(argv):
    sys.dont_write_bytecode = True      # leave no __pycache__ in the tree
    sys.path.insert(0, HERE)
    filters = argv[1:]
    print("yiqikan integration tests against %s" %
          os.environ.get("YQ_BASE_URL", "http://127.0.0.1:8080 (default)"),
          flush=True)
    tests, broken = load(filters)
    result = Result()
    for name, exc in broken:
        if not filters or any(f in name for f in filters):
            result.failed_ids.append(name)
            result.reports.append(("ERROR", name + " (import)", "".join(
                traceback.format_exception(*exc))))
            print("ERROR %s (import)" % name, flush=True)
    unittest.TestSuite(tests).run(result)

    for kind, what, text in result.reports:
        print("=" * 70)
        print("%s: %s" % (kind, what))
        print("-" * 70)
        print(text.rstrip())
    if result.reports:
        print("=" * 70)
    passed, failed = len(result.passed), len(result.failed_ids)
    skipped = len(result.skips)
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line, flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
