"""cms_client.json_depth: where a document nests too deep, from parsed JSON or raw text."""

from __future__ import annotations

import json

from cms_client.json_depth import deep_path, deep_path_in_text, field_of


def nested(levels: int) -> str:
    return '{"doc": {"id": 1, "title": "a,[{", "summary": ' + "[" * levels + "]" * levels + "}}"


def test_the_path_is_found_in_text_too_deep_to_parse():
    path = deep_path_in_text(nested(5000), limit=200)
    assert path[:2] == ["doc", "summary"] and field_of(path) == "summary"


def test_parsed_documents_are_measured_without_recursion():
    body = json.loads(nested(300))
    assert field_of(deep_path(body, limit=200) or []) == "summary"
    assert deep_path(json.loads(nested(100)), limit=200) is None


def test_find_answers_name_the_field_of_the_document():
    text = '{"docs": [{"id": 1}, {"id": 2, "body": ' + "[" * 50 + "]" * 50 + "}]}"
    assert field_of(deep_path_in_text(text, limit=20)) == "body"
    assert field_of(deep_path(json.loads(text), limit=20) or []) == "body"
