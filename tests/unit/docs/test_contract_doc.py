"""docs/contract.md names exactly what the code has, both ways.

Topics, payload and record fields, Kafka topics, alert kinds, severities, statuses,
dead-letter reasons and the InfluxDB schema are read from the code (the topic classes, the
models' fields, the Literal types, the topic specs, the metric writes), never from a list
copied here. A failure says what to add or remove, and where.
"""

from __future__ import annotations

import ast
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from alerts.machine import BuildingSummary
from ingest import audit, models, validation
from ingest.errors import PayloadRejected
from ingest.kafka import TOPICS
from ingest.roster import Scheduled
from ingest.schema import SCHEMAS, json_schema
from ingest.settings import Settings
from ingest.site import load_site
from ingest.topics import Topic, parse_topic
from processors.attendance import PresenceCount
from processors.attendance_days import Presence
from processors.attendance_rules import AttendanceStatus, DailyRecord, Flag, Tap
from tests.conftest import SAMPLE_SITE
from tests.unit.docs.markdown import DOCS, GUIDES, REPO, Section, name_of, parse, spans

CONTRACT = DOCS / "contract.md"
MQTT_PREFIX = Settings.model_fields["mqtt_prefix"].default
KAFKA_PREFIX = Settings.model_fields["kafka_topic_prefix"].default

# The payloads and records built outside ingest/models.py: the retained summary and presence
# payloads, and the records of the attendance, presence and audit topics.
MODELS_ELSEWHERE: tuple[type[BaseModel], ...] = (
    BuildingSummary,
    PresenceCount,
    Presence,
    DailyRecord,
    Tap,
    audit.AuditRecord,
)


@pytest.fixture(scope="module")
def doc() -> Section:
    (title,) = parse(CONTRACT).children.values()  # the page's one # heading
    return title


def _both_ways(documented: list[str], in_code: set[str], what: str, where: str) -> None:
    missing = sorted(in_code - set(documented))
    unknown = sorted(set(documented) - in_code)
    twice = sorted({name for name in documented if documented.count(name) > 1})
    assert not missing, (
        f"{what} {missing} in the code but not in docs/contract.md: add a row under {where}"
    )
    assert not unknown, (
        f"{what} {unknown} in docs/contract.md ({where}) but not in the code: remove or rename them"
    )
    assert not twice, f"{what} {twice} listed twice under {where}"


# --- MQTT ----------------------------------------------------------------------------------


def _topic_patterns() -> set[str]:
    """`occupancy/{building}/{room}/door/{sensor}` and the others, from the topic classes."""
    patterns = set()
    for grammar in get_args(Topic):
        placeholders = [f"{{{name}}}" for name in grammar.__dataclass_fields__]
        patterns.add(grammar(*placeholders).format(MQTT_PREFIX))
    return patterns


def test_mqtt_topics_are_the_topic_grammars_and_carry_the_schemas_payloads(doc: Section) -> None:
    topics = doc.child("MQTT topics")
    _both_ways(topics.first_column(), _topic_patterns(), "MQTT topic(s)", "## MQTT topics")
    payload_of = {name_of(cells[0]): spans(cells[-1]) for cells in topics.rows()}
    for model, topic in SCHEMAS.values():
        assert payload_of[topic] == [model.__name__], (
            f"{topic}: its payload is {model.__name__} (ingest/schema.py); the table says "
            f"{payload_of[topic]}"
        )
    documented = _model_sections(doc)
    for topic, payload in payload_of.items():
        assert set(payload) <= set(documented), f"{topic}: {payload} has no ### section"


def test_the_schema_files_and_their_version_are_the_ones_occupancy_schema_writes(
    doc: Section,
) -> None:
    text = "\n".join(doc.lines)
    named = {s.removesuffix(".schema.json") for s in spans(text) if s.endswith(".schema.json")}
    _both_ways(
        sorted(named), set(SCHEMAS), "schema file(s)", "the JSON Schemas paragraph at the top"
    )
    assert f"`{json_schema('door-event')['$id']}`" in text, "the $id example has another version"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_topic_a_guide_names_is_one_of_the_contract(guide: Path) -> None:
    """An MQTT topic in a code span is a pattern of the grammar or a concrete topic it
    parses; `occupancy.<name>` is a Kafka topic of ingest/kafka.py."""
    text = guide.read_text(encoding="utf-8")
    kafka = {f"{KAFKA_PREFIX}.{spec.name}" for spec in TOPICS}
    for span in spans(text):
        if re.fullmatch(rf"{MQTT_PREFIX}/[^/%+#\s]+/[^%+#\s]+", span):
            if "{" in span:
                assert span in _topic_patterns(), f"{guide.name}: `{span}` is no topic pattern"
            else:
                parse_topic(MQTT_PREFIX, span)  # raises PayloadRejected saying why not
        elif re.fullmatch(rf"{KAFKA_PREFIX}\.(?!(py|md|ya?ml|json|conf)$)[a-z-]+", span):  # no file
            assert span in kafka, f"{guide.name}: `{span}` is not a topic of ingest/kafka.py"


# --- payloads and records ------------------------------------------------------------------


def _wire_models() -> dict[str, type[BaseModel]]:
    public = {
        obj
        for obj in vars(models).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseModel)
        and obj.__module__ == models.__name__
        and not obj.__name__.startswith("_")
    }
    return {model.__name__: model for model in (*public, *MODELS_ELSEWHERE)}


def _model_sections(doc: Section) -> dict[str, Section]:
    """The `### `Model`` sections under "Payloads" and "Kafka records"."""
    found = {}
    for parent in ("Payloads", "Kafka records"):
        for title, section in doc.child(parent).children.items():
            if title.startswith("`"):
                found[name_of(title)] = section
    return found


def test_every_payload_and_record_model_has_a_section(doc: Section) -> None:
    _both_ways(
        list(_model_sections(doc)),
        set(_wire_models()),
        "payload or record model(s)",
        "## Payloads or ## Kafka records (a ### `Model` section with a field table)",
    )


@pytest.mark.parametrize("name", sorted(_wire_models()))
def test_every_field_of_a_model_is_in_its_table_with_its_requiredness(
    doc: Section, name: str
) -> None:
    model = _wire_models()[name]
    section = _model_sections(doc).get(name)
    assert section is not None, f"docs/contract.md has no ### `{name}` section"
    where = f"### `{name}` (| field | type | required | meaning |)"
    _both_ways(section.first_column(), set(model.model_fields), f"{name} field(s)", where)
    for cells in section.rows():
        field = name_of(cells[0])
        info = model.model_fields[field]
        required = "yes" if info.is_required() else "no"
        assert cells[2] == required, f"{name}.{field}: required is {required!r} in the code"
        quoted = {s.strip('"') for s in spans(cells[1]) if s.startswith('"')}
        if quoted:
            allowed = _literal_values(info.annotation)
            assert quoted == allowed, (
                f"{name}.{field}: the code allows {sorted(allowed)}, the table {sorted(quoted)}"
            )


def test_every_payload_has_an_example_and_every_example_is_valid(doc: Section) -> None:
    sections = _model_sections(doc)
    models_ = _wire_models()
    for name, section in sections.items():
        for example in _json_blocks(section):
            models_[name].model_validate_json(example)
    for model, _topic in SCHEMAS.values():
        assert _json_blocks(sections[model.__name__]), (
            f"### `{model.__name__}`: vendors need an example (a ```json block)"
        )


def test_the_dead_letter_example_is_what_the_bridge_makes_of_its_payload(doc: Section) -> None:
    (example,) = _json_blocks(_model_sections(doc)["DeadLetter"])
    letter = models.DeadLetter.model_validate_json(example)
    validator = validation.Validator(load_site(SAMPLE_SITE), MQTT_PREFIX)
    with pytest.raises(PayloadRejected) as rejected:
        validator.validate(letter.topic, letter.payload, letter.received_at)
    assert (rejected.value.reason, rejected.value.detail) == (letter.reason, letter.detail)


def _json_blocks(section: Section) -> list[str]:
    blocks: list[str] = []
    current: list[str] | None = None  # the lines of the ```json block being read
    for line in section.lines:
        if line.startswith("```"):
            if current is not None:
                blocks.append("\n".join(current))
            current = [] if line.strip() == "```json" and current is None else None
        elif current is not None:
            current.append(line)
    return blocks


def _literal_values(annotation: Any) -> set[str]:
    """Every value of the Literal types inside `annotation` (through Optional, lists)."""
    if get_origin(annotation) is Literal:
        return {str(value) for value in get_args(annotation)}
    if get_origin(annotation) in (Union, types.UnionType, list, Annotated):
        return set().union(*(_literal_values(arg) for arg in get_args(annotation)))
    return set()


# --- enumerations --------------------------------------------------------------------------

ENUMERATIONS: dict[tuple[str, ...], Any] = {
    ("Alerts", "Alert kinds"): models.AlertKind,
    ("Alerts", "Severities"): models.Severity,
    ("Alerts", "Lifecycle"): models.AlertState,
    ("Room status",): models.Status,
    ("Attendance", "Scheduled days"): Scheduled,
    ("Attendance", "Attendance statuses"): AttendanceStatus,
    ("Attendance", "Flags"): Flag,
    ("Kafka records", "Audit roles"): audit.Role,
    ("Kafka records", "Audit actions"): audit.Action,
}


@pytest.mark.parametrize("path", list(ENUMERATIONS), ids=" / ".join)
def test_every_value_of_a_literal_type_is_a_row(doc: Section, path: tuple[str, ...]) -> None:
    section = doc
    for title in path:
        section = section.child(title)
    where = " > ".join(path)
    _both_ways(section.first_column(), _literal_values(ENUMERATIONS[path]), "value(s)", where)


def test_dead_letter_reasons_are_every_reason_the_code_can_produce(doc: Section) -> None:
    section = doc.child("Rejections").child("Dead-letter reasons")
    where = "## Rejections > ### Dead-letter reasons"
    _both_ways(section.first_column(), _dead_letter_reasons(), "dead-letter reason(s)", where)


def _dead_letter_reasons() -> set[str]:
    """`validation.REASONS`, every `PayloadRejected("reason", …)`, every worker's
    `_dead_letter(record, "reason", …)`, and what `too_old` returns for the workers'
    `_dead_letter(record, kind, …)`."""
    reasons = set(validation.REASONS)
    for path, tree in _sources():
        for function in _functions(tree):
            calls = [node for node in ast.walk(function) if isinstance(node, ast.Call)]
            uses_too_old = any(_called(call) == "too_old" for call in calls)
            for call in calls:
                if _called(call) == "PayloadRejected" and call.args:
                    reasons.add(_constant(call.args[0], path, call))
                elif _called(call) == "_dead_letter" and len(call.args) >= 3:
                    reason = call.args[1]
                    if isinstance(reason, ast.Constant):
                        reasons.add(_constant(reason, path, call))
                    else:
                        assert uses_too_old, (
                            f"{path}:{call.lineno}: a dead letter whose reason this test cannot "
                            "read; pass a string literal, or teach "
                            "tests/unit/docs/test_contract_doc.py"
                        )
            if function.name == "too_old":
                for node in ast.walk(function):
                    if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
                        reasons.add(_constant(node.value.elts[0], path, node))
    return reasons


# --- Kafka ---------------------------------------------------------------------------------


def test_kafka_topics_are_the_topic_specs_with_their_cleanup_partitions_and_retention(
    doc: Section,
) -> None:
    section = doc.child("Kafka topics")
    specs = {f"{KAFKA_PREFIX}.{spec.name}": spec for spec in TOPICS}
    _both_ways(section.first_column(), set(specs), "Kafka topic(s)", "## Kafka topics")
    records = _model_sections(doc)
    for cells in section.rows():
        spec = specs[name_of(cells[0])]
        topic, _key, cleanup, partitions, retention, value = cells
        wanted = spec.config.get("cleanup.policy", "delete")
        assert cleanup == wanted, f"{topic}: cleanup is {wanted} in ingest/kafka.py"
        wanted = "`OCC_KAFKA_PARTITIONS`" if spec.partitioned else "1"
        assert partitions == wanted, f"{topic}: partitions are {wanted} in ingest/kafka.py"
        if "retention.ms" in spec.config:
            days = int(spec.config["retention.ms"]) // (24 * 3600 * 1000)
            assert retention == f"{days} days", f"{topic}: kept {days} days in ingest/kafka.py"
        assert set(spans(value)) <= set(records), f"{topic}: {value} has no ### section"


# --- InfluxDB ------------------------------------------------------------------------------


def test_influxdb_measurements_tags_and_fields_are_what_the_code_writes(doc: Section) -> None:
    section = doc.child("InfluxDB schema")
    written = _points()
    documented = [name_of(title) for title in section.children]
    _both_ways(documented, set(written), "measurement(s)", "## InfluxDB schema")
    for title, measurement in section.children.items():
        name = name_of(title)
        rows = measurement.rows()
        for kind in ("tag", "field"):
            names = [name_of(cells[0]) for cells in rows if cells[1] == kind]
            where = f"### `{name}` (| name | is | meaning |, is = {kind})"
            _both_ways(names, written[name][kind], f"{name} {kind}(s)", where)
        assert {cells[1] for cells in rows} <= {"tag", "field"}, title


def _points() -> dict[str, dict[str, set[str]]]:
    """measurement → {"tag": keys, "field": keys} of every `….write("measurement", {tags},
    {fields}, at)` in the packages that write metrics."""
    found: dict[str, dict[str, set[str]]] = {}
    for path, tree in _sources():
        for function in _functions(tree):
            for call in ast.walk(function):
                if not (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "write"
                    and len(call.args) >= 3
                    and isinstance(call.args[0], ast.Constant)
                    and isinstance(call.args[0].value, str)
                ):
                    continue
                point = found.setdefault(call.args[0].value, {"tag": set(), "field": set()})
                point["tag"] |= _keys(call.args[1], function, path, call)
                point["field"] |= _keys(call.args[2], function, path, call)
    return found


def _keys(node: ast.expr, function: ast.AST, path: Path, call: ast.Call) -> set[str]:
    """The keys of a dict literal; a `**name` spread is read from `name = {k: … for k in
    ("a", "b")}` in the same function."""
    assert isinstance(node, ast.Dict), (
        f"{path}:{call.lineno}: tags and fields must be dict literals"
    )
    keys = set()
    for key, value in zip(node.keys, node.values, strict=True):
        if key is not None:
            keys.add(_constant(key, path, call))
            continue
        assert isinstance(value, ast.Name), f"{path}:{call.lineno}: spread of a non-name"
        keys |= _comprehension_keys(value.id, function, path, call)
    return keys


def _comprehension_keys(name: str, function: ast.AST, path: Path, call: ast.Call) -> set[str]:
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            and isinstance(node.value, ast.DictComp)
            and isinstance(node.value.generators[0].iter, ast.Tuple)
        ):
            return {_constant(e, path, call) for e in node.value.generators[0].iter.elts}
    raise AssertionError(
        f"{path}:{call.lineno}: the test cannot read the keys of **{name}; write them out"
    )


# --- reading the code ----------------------------------------------------------------------


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for package in ("ingest", "processors", "alerts"):
        for path in sorted((REPO / package).rglob("*.py")):
            yield path.relative_to(REPO), ast.parse(path.read_text(encoding="utf-8"))


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _constant(node: ast.expr, path: Path, where: ast.AST) -> str:
    assert isinstance(node, ast.Constant) and isinstance(node.value, str), (
        f"{path}:{getattr(where, 'lineno', '?')}: expected a string literal here"
    )
    return node.value
