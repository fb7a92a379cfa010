#!/usr/bin/python3
"""check_metrics.py FILE CLIENTS BYTES - parse a /metrics body with a real
Prometheus parser (Debian's python3-prometheus-client) and check that it
agrees with what test_admin.c did: CLIENTS echo connections that sent and
got back BYTES bytes in all. Where chat listeners report (muxd_chat_*),
their families are checked too: each one block, the right type, every
sample labelled with its listener (and each counter with every worker).
Exit 0 when it does; else say why."""
import sys
from collections import Counter

from prometheus_client.parser import text_string_to_metric_families


def main():
    path, clients, sent = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path, encoding="utf-8") as f:
        text = f.read()
    samples = {}
    types = {}
    names = []
    for fam in text_string_to_metric_families(text):
        names.append(fam.name)
        types[fam.name] = fam.type
        for s in fam.samples:
            samples.setdefault(s.name, []).append(s)

    def total(name):
        if name not in samples:
            sys.exit(f"no samples of {name}")
        return sum(s.value for s in samples[name])

    def per_worker(name):
        return {s.labels["worker"]: s.value for s in samples[name]}

    workers = int(total("muxd_workers"))
    checks = [
        (total("muxd_connections_accepted_total") >= clients, "accepted >= clients"),
        (total("muxd_connections_open") >= clients, "open >= clients"),
        (total("muxd_received_bytes_total") >= sent, "received bytes >= sent"),
        (total("muxd_sent_bytes_total") >= sent, "sent bytes >= echoed"),
        (total("muxd_receives_total") >= clients, "receives >= clients"),
        (total("muxd_sends_total") >= clients, "sends >= clients"),
        (total("muxd_output_enqueued_bytes_total") >= sent, "enqueued >= echoed"),
        (len(per_worker("muxd_connections_accepted_total")) == workers, "a sample per worker"),
        (all(v >= clients // workers for v in
             per_worker("muxd_connections_accepted_total").values()),
         "every worker took its share of the clients"),
        (total("muxd_loop_turns_total") > 0, "loop turns counted"),
        (types.get("muxd_loop_turn_duration_seconds") == "histogram", "turn histogram"),
        (total("muxd_process_open_fds") >= clients, "open fds >= clients"),
        (total("muxd_process_resident_memory_bytes") > 0, "rss"),
        (types.get("muxd_heap_allocated_bytes") == "gauge" and
         total("muxd_heap_allocated_bytes") >= 0, "heap gauge (0 under a sanitizer's allocator)"),
    ]
    inf = [s for s in samples["muxd_loop_turn_duration_seconds_bucket"]
           if s.labels["le"] == "+Inf"]
    counts = samples["muxd_loop_turn_duration_seconds_count"]
    checks.append((sorted(s.value for s in inf) == sorted(s.value for s in counts),
                   "+Inf bucket == count"))
    checks += [(n == 1, f"family {name} in one block") for name, n in Counter(names).items()]
    checks += chat_checks(samples, types, workers)
    bad = [why for ok, why in checks if not ok]
    if bad:
        sys.exit("failed: " + ", ".join(bad))
    print(f"ok: {len(types)} families, {sum(map(len, samples.values()))} samples")


CHAT = {"muxd_chat_users": "gauge", "muxd_chat_channels": "gauge",
        "muxd_chat_deliveries": "counter", "muxd_chat_sendq_kills": "counter",
        "muxd_chat_flood_throttled": "counter"}


def chat_checks(samples, types, workers):
    """The chat families, if a chat listener reported them."""
    if "muxd_chat_users" not in types:
        return []
    listeners = {s.labels.get("listener") for s in samples["muxd_chat_users"]}
    checks = [(None not in listeners, "muxd_chat_users labelled by listener")]
    every = {(l, str(w)) for l in listeners for w in range(workers)}
    for fam, kind in CHAT.items():
        checks.append((types.get(fam) == kind, f"{fam} is a {kind}"))
        name = fam + "_total" if kind == "counter" else fam
        got = samples.get(name, [])
        if kind == "gauge":
            checks.append(({s.labels.get("listener") for s in got} == listeners
                           and len(got) == len(listeners), f"{name}: one per listener"))
        else:
            keys = [(s.labels.get("listener"), s.labels.get("worker")) for s in got]
            checks.append((sorted(keys) == sorted(every),
                           f"{name}: one per listener and worker"))
    return checks


main()
