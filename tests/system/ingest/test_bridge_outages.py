"""The bridge across real restarts of Mosquitto and Kafka."""

from __future__ import annotations

from pathlib import Path

from deploy.local.stack import Stack
from ingest.site import Site
from tests.integration.ingest.test_bridge import (
    BridgeRun,
    asyncio_run_ensure_topics,
    check_delivery,
)
from tests.support.corpus import Corpus, mixed_corpus
from tests.support.mqtt import publish


def test_reconnects_to_mosquitto_and_kafka_after_restarts(
    stack: Stack, stack_env: dict[str, str], sample_site: Site, tmp_path: Path
) -> None:
    run = BridgeRun(stack_env, tmp_path)
    asyncio_run_ensure_topics(run)
    batches = [mixed_corpus(sample_site, 300, seed=10 + i, tag=f"{run.tag}{i}") for i in range(3)]
    bridge = run.start()
    try:
        publish(stack_env["OCC_MQTT_URL"], batches[0].messages, f"pub-{run.tag}-0")
        stack.stop_service("mosquitto")
        stack.start_service("mosquitto")
        publish(stack_env["OCC_MQTT_URL"], batches[1].messages, f"pub-{run.tag}-1")
        stack.stop_service("kafka")
        # Kafka down: the bridge cannot deliver, so it must not acknowledge; Mosquitto keeps it.
        publish(stack_env["OCC_MQTT_URL"], batches[2].messages, f"pub-{run.tag}-2")
        stack.start_service("kafka")
        whole = Corpus(
            messages=[m for b in batches for m in b.messages],
            door_ids=set().union(*(b.door_ids for b in batches)),
            checkin_ids=set().union(*(b.checkin_ids for b in batches)),
            invalid={k: v for b in batches for k, v in b.invalid.items()},
        )
        run.wait_until_all_in(whole, timeout=240)
    finally:
        status = bridge.terminate()
    assert status == 0, bridge.output()[-3000:]
    check_delivery(run, whole)
    assert "event=mqtt_disconnected" in bridge.output()
