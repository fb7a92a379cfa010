#!/usr/bin/env bash
# bench/report/summary.sh - the "Short version" bullets of the report, from
# the TSV files bench/report.sh left in FRAGDIR (echo.tsv, unpinned.tsv,
# matrix.tsv, idle.tsv, idlelat.tsv, chat.tsv, fanout.tsv, heavy.tsv; see
# report.sh for their columns; fanout.setting names the fan-out load).
#
#   bench/report/summary.sh FRAGDIR
set -euo pipefail
f=$1

# Echo: muxd's cheapest backend against each peer, at every connection count.
if [ -s "$f/echo.tsv" ]; then
    awk -F'\t' '
        { if (!($1 in seen)) { seen[$1] = 1; cs[++n] = $1 }
          if ($2 ~ /^muxd-/ && $8 != "-" && (!($1 in best) || $8 + 0 < best[$1] + 0)) { best[$1] = $8; bn[$1] = $2 }
          if ($2 == "epoll_echo") ee[$1] = $8
          if ($2 == "libevent_echo") le[$1] = $8 }
        END { s = ""
            for (i = 1; i <= n; i++) { c = cs[i]; if (!(c in best)) continue
                part = sprintf("%s conns: %s, %.2f s", c, substr(bn[c], 6), best[c])
                if (ee[c] != "" && ee[c] != "-") part = part sprintf(" (%.2f× epoll_echo", best[c] / ee[c])
                if (le[c] != "" && le[c] != "-") part = part sprintf(", %.2f× libevent_echo", best[c] / le[c])
                if (ee[c] != "" && ee[c] != "-") part = part ")"
                s = s (s == "" ? "" : "; ") part }
            if (s != "") print "- **Echo, server CPU per million messages** (pinned, muxd'"'"'s cheapest backend; lower is better): " s "." }' "$f/echo.tsv"
fi
# The echo goal of issue 14: io_uring at most 0.85x the bare epoll loop at
# the most connections.
if [ -s "$f/echo.tsv" ]; then
    awk -F'\t' '{ if ($1 + 0 >= m) m = $1 + 0; cpu[$1, $2] = $8 }
        END { u = cpu[m, "muxd-io_uring"]; e = cpu[m, "epoll_echo"]
              if (u == "" || e == "" || u == "-" || e == "-" || e + 0 == 0) exit
              printf "- **Echo goal, io_uring at most 0.85× the bare epoll loop** (%s conns, 64 B, depth 1): %.2f against %.2f s per million messages, %.2f×, **%s**.\n",
                  m, u, e, u / e, u / e <= 0.85 ? "met" : "not met" }' "$f/echo.tsv"
fi
# The matrix: in how many cells io_uring is no dearer than epoll, the
# dearest cell, and what its receive features save.
if [ -s "$f/matrix.tsv" ]; then
    awk -F'\t' '
        { k = $1 " conns, " $2 " B, depth " $3; if (!(k in seen)) { seen[k] = 1; ks[++n] = k }
          cpu[k, $4] = $6 }
        END { for (i = 1; i <= n; i++) { k = ks[i]; e = cpu[k, "muxd-epoll"]; u = cpu[k, "muxd-io_uring"]
                  p = cpu[k, "muxd-io_uring-plain"]
                  if (e == "" || u == "" || e == "-" || u == "-" || e + 0 == 0) continue
                  cells++; if (u + 0 <= e + 0) ok++
                  if (w == "" || u / e > w) { w = u / e; wk = k }
                  if (p != "" && p != "-" && p + 0 > 0) { np++; pr[np] = u / p } }
              if (cells == 0) exit
              s = sprintf("- **Echo matrix, muxd on io_uring against muxd on epoll** (server CPU per message, pinned): no dearer in %d of %d cells; dearest %.2f× (%s)", ok + 0, cells, w, wk)
              if (np > 0) { for (i = 2; i <= np; i++) { x = pr[i]; for (j = i - 1; j >= 1 && pr[j] > x; j--) pr[j + 1] = pr[j]; pr[j + 1] = x }
                  s = s sprintf("; io_uring with its receive features (incremental buffers, bundles) ÷ without: %.2f× to %.2f×, median %.2f×",
                  pr[1], pr[np], np % 2 ? pr[(np + 1) / 2] : (pr[np / 2] + pr[np / 2 + 1]) / 2) }
              print s "." }' "$f/matrix.tsv"
fi
if [ -s "$f/unpinned.tsv" ]; then
    awk -F'\t' '{ r[$2] = $8; c = $1 }
        END { s = ""; for (k in r) if (k ~ /^muxd-/ && (b == "" || r[k] + 0 < r[b] + 0)) b = k
              if (b == "") exit
              s = sprintf("%s %.2f s", b, r[b])
              if ("epoll_echo" in r) s = s sprintf(", epoll_echo %.2f s (%.2f×)", r["epoll_echo"], r[b] / r["epoll_echo"])
              if ("libevent_echo" in r) s = s sprintf(", libevent_echo %.2f s (%.2f×)", r["libevent_echo"], r[b] / r["libevent_echo"])
              print "- **The same unpinned** (" c " conns): " s "." }' "$f/unpinned.tsv"
fi
if [ -s "$f/idle.tsv" ]; then
    awk -F'\t' '{ s = s (s == "" ? "" : ", ") $1 " " $5 " B" }
        END { print "- **RSS per idle connection**: " s "." }' "$f/idle.tsv"
fi
# Latency vs idle connections: each backend's p99 at the most idle
# connections against its p99 at the fewest, and the verdict (flat: every
# N within 20 % of the fewest).
if [ -s "$f/idlelat.tsv" ]; then
    awk -F'\t' '
        { if (!($1 in seenc)) { seenc[$1] = 1; cs[++nc] = $1 }
          if (!($2 in seens)) { seens[$2] = 1; ss[++ns] = $2 }
          p[$2, $1] = $5 }
        END { if (nc < 2) exit
              s = ""
              for (j = 1; j <= ns; j++) { b = p[ss[j], cs[1]]; t = p[ss[j], cs[nc]]; flat = 1
                  if (b == "" || b == "-" || b + 0 == 0 || t == "" || t == "-") continue
                  for (i = 2; i <= nc; i++) { x = p[ss[j], cs[i]]
                      if (x == "" || x == "-" || x / b > 1.2 || x / b < 0.8) flat = 0 }
                  s = s (s == "" ? "" : "; ") sprintf("%s %.0f → %.0f µs (%.2f×, %s)", substr(ss[j], 6), b, t, t / b,
                      flat ? "flat" : "not flat") }
              if (s != "") printf "- **p99 of the active echo clients, %s → %s idle connections beside them** (flat: within 20 %% at every N): %s.\n",
                  cs[1], cs[nc], s }' "$f/idlelat.tsv"
fi
if [ -s "$f/chat.tsv" ]; then
    awk -F'\t' '
        { if ($1 + 0 >= m) m = $1 + 0; rows[NR] = $0 }
        END { for (i = 1; i <= NR; i++) { split(rows[i], x, "\t"); if (x[1] + 0 != m || x[7] == "-") continue
                if (x[2] ~ /^muxd-/) { bad += x[10]; if (x[6] + 0 > worstp) worstp = x[6] + 0 }
                if (x[2] ~ /^muxd-/ && (best == "" || x[7] + 0 < best + 0)) { best = x[7]; bn = x[2]; bp = x[6] }
                if (x[2] == "ngircd") { ng = x[7]; ngp = x[6] }
                if (x[2] == "inspircd") { ins = x[7]; insp = x[6] } }
              s = "- **Chat fan-out, " m " members, server CPU per delivery**: "
              if (best == "") s = s "muxd not measured"
              else s = s sprintf("muxd (%s) %.3f µs, p99 %.0f µs", substr(bn, 6), best, bp)
              if (ng != "") s = s sprintf("; ngircd %.3f µs, p99 %.0f µs", ng, ngp) (best != "" ? sprintf(" (muxd %.2f×)", best / ng) : "")
              if (ins != "") s = s sprintf("; inspircd %.3f µs, p99 %.0f µs", ins, insp) (best != "" ? sprintf(" (muxd %.2f×)", best / ins) : "")
              if (best != "" && (ng != "" || ins != "")) {
                  better = (ng != "" && (ins == "" || ng + 0 < ins + 0)) ? ng : ins
                  peerp = (ngp != "" && ngp + 0 < insp + 0) || insp == "" ? ngp : insp
                  s = s sprintf(". muxd ÷ the better peer: %.2f×; p99 of every muxd configuration at most %.0f µs, of the better peer %.0f µs; %s lost, duplicated or reordered deliveries (the goal is judged at its own setting, the fan-out line below)",
                      best / better, worstp, peerp, bad + 0 == 0 ? "no" : bad) }
              print s "." }' "$f/chat.tsv"
fi
# The chat goal of issue 14 at its own setting (section fanout): CPU per
# delivery at most 0.6x InspIRCd's, p99 no worse, nothing lost; with
# fanout_delay 0 (the default) and with the smallest delay that meets it.
if [ -s "$f/fanout.tsv" ]; then
    awk -F'\t' -v setting="$(cat "$f/fanout.setting")" '
        $2 == "inspircd" { ic = $7; ip = $6; next }
        { n++; d[n] = $1; c[n] = $7; p[n] = $6; bad += $10 }
        END { if (ic == "" || n == 0) exit
              s = "- **Chat goal setting** (" setting "; goal: CPU per delivery ≤ 0.6× InspIRCd, p99 no worse, nothing lost): "
              for (i = 1; i <= n; i++) if (d[i] == 0)
                  s = s sprintf("fanout_delay 0 (the default) %.2f× InspIRCd'"'"'s CPU, p99 %.2f×", c[i] / ic, p[i] / ip)
              for (i = 1; i <= n && m == ""; i++) if (c[i] / ic <= 0.6 && p[i] <= ip) m = i
              if (m != "" && bad == 0)
                  s = s sprintf("; fanout_delay %s ms %.2f× and p99 %.2f× (%.0f against %.0f µs): **met** at %s ms", d[m], c[m] / ic, p[m] / ip, p[m], ip, d[m])
              else
                  s = s sprintf("; no delay measured meets both: **not met**%s", bad == 0 ? "" : sprintf(" (%d deliveries lost, duplicated or reordered)", bad))
              print s "." }' "$f/fanout.tsv"
fi
if [ -s "$f/heavy.tsv" ]; then
    awk -F'\t' '{ p[$1] = $8 }
        END { if (!("c" in p) || !("d" in p) || p["d"] == "-" || p["d"] == 0) exit
              printf "- **Heavy handlers**: light p99 %.1f ms with 1 worker and offload off, %.1f ms with 2 workers and offload off, %.1f ms with offload on, against %.1f ms without the heavy client (%.2f×; goal ≤ 2×: %s).\n",
                  p["a"] / 1000, p["b"] / 1000, p["c"] / 1000, p["d"] / 1000, p["c"] / p["d"], p["c"] <= 2 * p["d"] ? "met" : "not met" }' "$f/heavy.tsv"
fi
