import faulthandler, sys
import pytest
from tests.conftest import EDITOR

@pytest.fixture
def dumper():
    yield
    faulthandler.dump_traceback_later(2, exit=False, file=sys.stderr)

def test_probe(dumper, client, payload):
    client.get("/health")
    payload.down = True
    client.post("/exports/project-pdf", json={"projectId": 17}, headers={"Authorization": EDITOR})
