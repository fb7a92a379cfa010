#!/usr/bin/python3
"""check_metrics.py FILE CLIENTS BYTES - parse a /metrics body with a real
Prometheus parser (Debian's python3-prometheus-client) and check that it
agrees with what test_admin.c did: CLIENTS echo connections that sent and
got back BYTES bytes in all. Exit 0 when it does; else say why."""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    path, clients, sent = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path, encoding="utf-8") as f:
        text = f.read()
    samples = {}
    types = {}
    for fam in text_string_to_metric_families(text):
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
    ]
    inf = [s for s in samples["muxd_loop_turn_duration_seconds_bucket"]
           if s.labels["le"] == "+Inf"]
    counts = samples["muxd_loop_turn_duration_seconds_count"]
    checks.append((sorted(s.value for s in inf) == sorted(s.value for s in counts),
                   "+Inf bucket == count"))
    bad = [why for ok, why in checks if not ok]
    if bad:
        sys.exit("failed: " + ", ".join(bad))
    print(f"ok: {len(types)} families, {sum(map(len, samples.values()))} samples")


main()
