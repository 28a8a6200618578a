"""Fuzzing the API from its own OpenAPI document (schemathesis), in process, as each role:
no answer is a 5xx and every answer matches its documented schema.

Slow (about a minute and a half on 2 cores): ``MAX_EXAMPLES`` examples per operation and role,
with a fixed seed so a failure is repeatable (``derandomize``). Run it alone with
``pytest tests/fast/test_schemathesis.py``.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from tests.fast.conftest import Template, settings_for  # noqa: E402

pytestmark = pytest.mark.slow

#: Examples per operation, each sent as each role and as nobody (about 40 operations).
MAX_EXAMPLES = 30
ROLES = ("dongha", "bch40", "planner", "admin")

_APP: dict[str, Any] = {}


@pytest.fixture(scope="module")
def fuzz_app(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One app for the whole fuzz run, on its own copy of the fast tier's database."""
    from api.main import create_app

    folder = tmp_path_factory.mktemp("fuzz")
    for f in template.folder.glob("lienxa.db*"):
        shutil.copy2(f, folder / f.name)
    app = create_app(settings_for(folder, template.boundaries))
    _APP["tokens"] = dict(template.tokens)
    return app


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_answers_match_their_schema(case: Any) -> None:
    """Each generated example is sent once as each role (and once as nobody)."""
    for role in (*ROLES, None):
        headers = {"Authorization": f"Bearer {_APP['tokens'][role]}"} if role else {}
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )
