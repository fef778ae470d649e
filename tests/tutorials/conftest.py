"""The whole learning path has one time budget: the chapters' wall times are added up here.

Each executed chapter records ``tutorial_seconds`` as a user property of its test report;
reports reach the controlling process under pytest-xdist too, so the sum is over every
chapter that ran in the session, in both languages. The session fails when the sum exceeds
:data:`WHOLE_PATH_SECONDS`, however the chapters were spread over the workers.
"""

from __future__ import annotations

import pytest

#: All chapters, both languages, executed one after the other, must fit in ten minutes.
WHOLE_PATH_SECONDS = 600.0

_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        for name, value in report.user_properties:
            if name == "tutorial_seconds":
                _seconds[report.nodeid] = float(value)


def pytest_terminal_summary(terminalreporter) -> None:
    if _seconds:
        total = sum(_seconds.values())
        verdict = "within" if total <= WHOLE_PATH_SECONDS else "OVER"
        terminalreporter.write_sep("-", f"tutorials: {len(_seconds)} notebooks executed in {total:.0f} s, "
                                        f"{verdict} the budget of {WHOLE_PATH_SECONDS:.0f} s")
        for nodeid, seconds in sorted(_seconds.items()):
            terminalreporter.write_line(f"{seconds:6.1f} s  {nodeid.rsplit('::', 1)[-1]}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if sum(_seconds.values()) > WHOLE_PATH_SECONDS and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
