#!/usr/bin/env bash
# Peak memory of `stance score` as the corpus grows (issue 6: 100k statements under 2 GB).
# Not part of CI. Usage: bash scripts/bench/memory.sh MODEL_DIR "N1 N2 …" [extra score flags]
# Builds corpora of N statements from the demo corpus (each statement reused with a new id and
# date, so nothing is deduplicated), scores them against corpus/targets.toml with the score
# cache off, and prints a table row per size: statements, seconds, peak RSS (MiB).
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1
sizes=$2
shift 2
cargo build --release --bin stance
work=.cache/bench/memory
mkdir -p "$work"
bash scripts/bench/cpu.sh
printf '| statements × 3 targets | seconds | peak RSS MiB |\n|---|---|---|\n'
for n in $sizes; do
    corpus=$work/corpus-$n.csv
    python3 - "$n" "$corpus" <<'EOF'
import csv, datetime, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open("corpus/statements.csv", newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
start = datetime.date(2020, 1, 1)
with open(path + ".tmp", "w", newline="", encoding="utf-8") as f:
    out = csv.DictWriter(f, fieldnames=list(rows[0]))
    out.writeheader()
    for i in range(n):
        row = dict(rows[i % len(rows)])
        # A numbered sentence makes each text distinct, so no pair is scored only once.
        row.update(id=f"m{i}", date=(start + datetime.timedelta(days=i % 2000)).isoformat(),
                   text=f"{row['text']} (Statement {i}.)")
        out.writerow(row)
import os; os.replace(path + ".tmp", path)
EOF
    rm -rf "$work/scores-$n.parquet" "$work/scores-$n.parquet.parts"
    SECONDS=0
    /usr/bin/time -f '%M' -o "$work/rss-$n" target/release/stance score "$corpus" --targets corpus/targets.toml \
        --model "$model" --no-cache -q --out "$work/scores-$n.parquet" "$@"
    printf '| %d | %d | %d |\n' "$n" "$SECONDS" $(($(cat "$work/rss-$n") / 1024))
done
