"""The MQTT bridge: broker -> validation -> database, in batches.

Delivery guarantee. The bridge connects with a persistent MQTT v5 session
(clean_start=False) and *manual acknowledgement*: a QoS 1 message is acked
to the broker only after the transaction holding it has committed. If the
database is down the batch is retried with back-off and nothing is acked,
so the broker keeps the messages (and stops sending once our receive window
is full -- natural back-pressure). If the bridge is killed, unacked messages
are redelivered when it comes back; storage is an upsert on (device, ts), so
a redelivery changes nothing.

Threads: paho's network thread only puts messages on a queue (`on_message`
stays thin); the main thread drains the queue, calls the services and acks.

Poison messages (issue 9). No payload on any topic may stop the bridge or
hold up the messages behind it. Validation rejects what it can with a reason;
if storing a batch still fails for a reason that is not transient (the
database refuses a value), the batch is split in halves until the message at
fault is alone, and that message is quarantined -- kept as a RejectedMessage
with code ``unstorable``, its payload as hex -- and acknowledged like any
other. Only a transient failure (the database down) holds the batch unacked.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    close_old_connections,
    connection,
)

from assets import selectors, services
from assets.domain import payloads, topics

from .connection import BrokerUrl, connect, make_client, reason_ok

log = logging.getLogger("assets.bridge")

# Not the message's fault: the database is down, or not migrated yet. Retried.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError, ProgrammingError)


@dataclass
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime | None = None


class Bridge:
    def __init__(
        self,
        broker: BrokerUrl,
        *,
        client_id: str = "cem-bridge",
        batch_size: int = 2000,
        max_wait_s: float = 0.25,
        receive_maximum: int = 20000,
        readings_every_s: float = 20.0,
        housekeeping_every_s: float = 5.0,
        directory_ttl_s: float = 30.0,
        communities: list[str] | None = None,
        share_group: str | None = None,
        readings_on_queue: bool = False,
    ):
        self.broker = broker
        # MQTT v5 shared subscription ($share/<group>/...): any number of bridges
        # with the same group (and distinct client ids) split the stream; the
        # broker gives each message to one of them (issue 16).
        if share_group and not topics.valid_segment(share_group):
            raise ValueError(f"share group {share_group!r} may use only letters, digits, '_', '-', '.'")
        if share_group and broker.protocol != 5:
            raise ValueError("shared subscriptions need MQTT v5 (Mosquitto); the embedded broker speaks 3.1.1")
        self.share_group = share_group or None
        self.communities = communities  # None: every community
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.receive_maximum = receive_maximum
        self.readings_every_s = readings_every_s
        # True: the readings roll-up runs as a Celery task on the ingest queue,
        # off the receive path (issue 16); False, or the broker unreachable: here.
        self.readings_on_queue = readings_on_queue
        self.housekeeping_every_s = housekeeping_every_s
        self.directory_ttl_s = directory_ttl_s
        self.inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = make_client(broker, client_id=client_id, persistent=True, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda c, u, mid, codes, props: self.subscribed.set()
        self._directory: dict[tuple[str, str], services.DeviceInfo | None] = {}
        self._directory_at: dict[tuple[str, str], float] = {}
        self._dirty: set = set()
        self._seen: dict[int, datetime] = {}
        self._last_readings = time.monotonic()
        self._last_housekeeping = 0.0
        self.stats = {
            "accepted": 0,
            "rejected": 0,
            "acks": 0,
            "statuses": 0,
            "batches": 0,
            "db_retries": 0,
            "quarantined": 0,  # stored only as a hex copy (code "unstorable")
            "dropped": 0,  # not even that could be stored: logged as hex, acked
            "derived_errors": 0,
            "rollups_queued": 0,
        }

    # -- paho callbacks (network thread) ---------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_ok(reason_code):
            log.error("broker refused the bridge: %s", reason_code)
            return
        if self.communities:
            subs = [f"{topics.PREFIX}/{c}/+/{k}" for c in self.communities for k in topics.DEVICE_TO_PLATFORM]
        else:
            subs = topics.subscriptions()
        if self.share_group:
            subs = [f"$share/{self.share_group}/{t}" for t in subs]
        client.subscribe([(t, 1) for t in subs])
        self.connected.set()
        log.info("connected to %s (session present: %s)", self.broker.redacted(), flags.session_present)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        self.subscribed.clear()
        if not self.stopping.is_set():
            log.warning("disconnected from the broker (%s); reconnecting with back-off", reason_code)

    def _on_message(self, client, userdata, msg):
        # the raw topic bytes: paho's ``msg.topic`` raises on invalid UTF-8, and
        # an exception here would end the network thread
        raw_topic = msg._topic if isinstance(getattr(msg, "_topic", None), bytes) else str(msg.topic).encode()
        topic = raw_topic.decode("utf-8", "replace")
        self.inbox.put(Inbound(topic, bytes(msg.payload), msg.mid, msg.qos, datetime.now(UTC)))

    # -- steps the main loop (and tests) call ---------------------------------
    def drain(self, max_wait_s: float | None = None) -> list[Inbound]:
        """Up to batch_size queued messages; waits up to ``max_wait_s`` for
        the first one if none are queued."""
        wait = self.max_wait_s if max_wait_s is None else max_wait_s
        batch: list[Inbound] = []
        deadline = time.monotonic() + wait
        while len(batch) < self.batch_size:
            try:
                batch.append(self.inbox.get_nowait())
                continue
            except queue.Empty:
                pass
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=timeout))
            except queue.Empty:
                break
        return batch

    def directory_for(self, batch: list[Inbound]) -> dict:
        now = time.monotonic()
        keys = set()
        for m in batch:
            parts = m.topic.split("/")
            if len(parts) == 4 and topics.valid_segment(parts[1]) and topics.valid_segment(parts[2]):
                keys.add((parts[1], parts[2]))
        stale = {k for k in keys if k not in self._directory or now - self._directory_at[k] > self.directory_ttl_s}
        if stale:
            found = selectors.device_directory(stale)
            for k in stale:
                self._directory[k] = found.get(k)
                self._directory_at[k] = now
        return self._directory

    def process(self, batch: list[Inbound], *, now: datetime | None = None) -> services.IngestResult:
        """Store one batch, retrying through database outages; ack only after commit."""
        delay = 0.5
        while True:
            try:
                if not connection.in_atomic_block:  # (tests run the bridge inside their transaction)
                    close_old_connections()
                now_ = now or datetime.now(UTC)
                result = self._store(batch, now_)
                break
            except TRANSIENT_DB_ERRORS as exc:
                self.stats["db_retries"] += 1
                log.warning(
                    "database unavailable (%s); holding %d messages, retry in %.1f s",
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    len(batch),
                    delay,
                )
                try:
                    connection.close()
                except DatabaseError:
                    pass
                if self.stopping.wait(delay):
                    # asked to stop during an outage: leave the batch unacked; the
                    # broker redelivers it to our persistent session next time
                    raise
                delay = min(delay * 2, 10.0)
        for m in batch:
            if m.qos > 0:
                self.client.ack(m.mid, m.qos)
        self._dirty |= result.dirty
        for device_id in result.offline:
            self._seen.pop(device_id, None)
        for device_id, ts in result.seen.items():
            if ts > self._seen.get(device_id, ts - timedelta(1)):
                self._seen[device_id] = ts
        for k in ("accepted", "rejected", "acks", "statuses"):
            self.stats[k] += getattr(result, k)
        self.stats["batches"] += 1
        return result

    def _store(self, batch: list[Inbound], now: datetime) -> services.IngestResult:
        """Store a batch; on a failure that is the data's fault, split it until
        the message at fault is alone and quarantine that one. Transient
        database errors propagate (the caller retries the whole batch; every
        write is idempotent)."""
        try:
            return services.telemetry_ingest(
                [(m.topic, m.payload, m.received_at) for m in batch], now=now, directory=self.directory_for(batch)
            )
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - any other failure is a message's fault
            if len(batch) > 1:
                half = len(batch) // 2
                return _merge(self._store(batch[:half], now), self._store(batch[half:], now))
            return self._quarantine(batch[0], exc, now)

    def _quarantine(self, m: Inbound, exc: BaseException, now: datetime) -> services.IngestResult:
        reason = f"could not be stored: {type(exc).__name__}: {str(exc).strip()[:400]}"
        try:
            services.telemetry_quarantine(topic=m.topic, payload=m.payload, reason=reason, now=now)
            self.stats["quarantined"] += 1
            log.warning("quarantined a message on %s: %s", payloads.printable(m.topic, 120), reason)
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - last resort: the log keeps it, the broker forgets it
            self.stats["dropped"] += 1
            log.exception(
                "could not store even a quarantine record; acking. topic=%s payload[hex]=%s reason=%s",
                payloads.printable(m.topic.encode("utf-8", "surrogatepass").decode("ascii", "backslashreplace"), 255),
                bytes(m.payload[: payloads.HEX_LIMIT]).hex(),
                payloads.printable(reason, 500),
            )
        return services.IngestResult(rejected=1)

    def flush_derived(self, *, force: bool = False) -> None:
        """Interval readings for periods touched by new counters, last-seen
        times; both are idempotent, so a failure just leaves them for next time.

        The readings go to the ``ingest`` queue when ``readings_on_queue`` (a
        worker there rebuilds them in a few set-based queries); otherwise, or
        when the task cannot be queued, they are rebuilt here, the same way."""
        now = time.monotonic()
        if not force and now - self._last_readings < self.readings_every_s:
            return
        self._last_readings = now
        dirty, seen = self._dirty, self._seen
        self._dirty, self._seen = set(), {}
        try:
            if seen:
                services.devices_mark_seen(seen=seen)
            if dirty and not (self.readings_on_queue and self._queue_rollup(dirty)):
                r = services.readings_rollup(dirty=dirty)
                self.stats["derived_errors"] += len(r.failed_devices)
                log.debug("interval readings refreshed: %d", r.written)
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("could not refresh readings (%s); will retry", exc)
            self._dirty |= dirty
            for k, v in seen.items():
                self._seen.setdefault(k, v)

    def _queue_rollup(self, dirty: set) -> bool:
        from assets.tasks import readings_rollup

        try:
            # no publish retries: a broker that is down must not hold up ingest
            readings_rollup.apply_async(kwargs={"periods": services.dirty_encode(dirty)}, queue="ingest", retry=False)
        except Exception as exc:  # noqa: BLE001 - any broker failure: derive them here instead
            log.warning("could not queue the readings roll-up (%s); deriving readings in the bridge", exc)
            return False
        self.stats["rollups_queued"] += 1
        return True

    def housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_housekeeping < self.housekeeping_every_s:
            return
        self._last_housekeeping = now
        try:
            services.commands_time_out()
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("could not time out commands (%s)", exc)
        except Exception:  # noqa: BLE001 - housekeeping must never stop ingestion
            log.exception("could not time out commands")

    # -- running ---------------------------------------------------------------
    def start(self) -> None:
        # The network thread mostly waits on its socket and then needs the GIL
        # back quickly; with the default 5 ms switch interval it queues behind
        # the CPU-bound storage thread (the "convoy effect") and the receive
        # rate halves. 0.5 ms doubles the bridge's throughput (bench/ingest.py).
        sys.setswitchinterval(0.0005)
        connect(self.client, self.broker, keepalive=30, receive_maximum=self.receive_maximum, asynchronous=True)
        self.client.loop_start()

    def run_forever(self) -> None:
        self.start()
        try:
            while not self.stopping.is_set():
                batch = self.drain()
                if batch:
                    try:
                        self.process(batch)
                    except TRANSIENT_DB_ERRORS:
                        break  # stopping during an outage
                self.flush_derived()
                self.housekeeping()
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Stop cleanly: store what is already queued, then disconnect."""
        self.stopping.set()
        leftover = self.drain(0)
        if leftover:
            try:
                self.process(leftover)
            except TRANSIENT_DB_ERRORS:
                log.warning("leaving %d messages unacked for redelivery", len(leftover))
        try:
            self.flush_derived(force=True)
        except Exception:  # noqa: BLE001 - best effort at exit
            log.exception("final readings refresh failed")
        self.client.disconnect()
        self.client.loop_stop()
        log.info("bridge stopped: %s", self.stats)

    def install_signal_handlers(self) -> None:
        def stop(signum, frame):
            log.info("signal %s: stopping", signum)
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


def _merge(a: services.IngestResult, b: services.IngestResult) -> services.IngestResult:
    out = services.IngestResult(
        accepted=a.accepted + b.accepted,
        rejected=a.rejected + b.rejected,
        acks=a.acks + b.acks,
        statuses=a.statuses + b.statuses,
    )
    out.dirty = a.dirty | b.dirty
    out.seen = {**a.seen, **b.seen}
    out.offline = a.offline | b.offline
    return out
