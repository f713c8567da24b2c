"""The collection and run-time checks that a test reaching a service carries its marker."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = "from tests.conftest import *  # noqa: F403\n"
INI = "[pytest]\nmarkers =\n    mariadb: x\n    s3: x\n"


def test_an_unmarked_test_using_a_service_fixture_stops_the_run(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    pytester.makepyfile(
        test_probe="""
import pytest

def test_unmarked(mysql_url):
    pass

@pytest.mark.mariadb
def test_marked_but_deselected(mysql_url):
    pass
"""
    )
    result = pytester.runpytest_inprocess("-m", "not mariadb")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_probe.py::test_unmarked (needs mariadb)*"])


def test_a_service_fixture_requested_at_run_time_needs_the_marker_too(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    pytester.makepyfile(
        test_probe="""
def test_dynamic(request):
    request.getfixturevalue("s3_server")
"""
    )
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_dynamic uses s3_server without @pytest.mark.s3*"])
