#!/usr/bin/env bash
# Runs notebooks/stance_trends.ipynb headless on a demo run's outputs, failing on any cell error.
#
#   scripts/test-notebook.sh DEMO_DIR [EXECUTED_NOTEBOOK]
#
# DEMO_DIR holds scores.parquet, trends.parquet and shifts.parquet. The executed copy goes to
# EXECUTED_NOTEBOOK (default: a temporary file); the committed notebook is never rewritten.
# Python packages are pinned and installed from PyPI into .venv-notebook/ in the repository root.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 DEMO_DIR [EXECUTED_NOTEBOOK]" >&2
    exit 1
fi
demo_dir=$(cd "$1" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
notebook="$root/notebooks/stance_trends.ipynb"
venv="$root/.venv-notebook"
python=${PYTHON:-python3}

# nbconvert provides the `jupyter nbconvert` command (through jupyter_core); the `jupyter`
# metapackage would add JupyterLab and the Notebook server, which a headless run does not use.
packages=(
    nbconvert==7.17.2
    nbclient==0.11.0
    ipykernel==7.4.0
    polars==2.1.0
    pyarrow==26.0.1
    matplotlib==3.11.2
)
stamp="$venv/.installed"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "${packages[*]}" ]]; then
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
    echo "${packages[*]}" > "$stamp"
fi

if [[ $# -eq 2 ]]; then
    output=$(realpath -m "$2")
else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    output="$tmp/stance_trends.executed.ipynb"
fi

# A kernel from this venv, whatever kernels the machine has. The kernel's inline matplotlib
# backend needs no display.
export STANCE_DEMO_DIR="$demo_dir"
"$venv/bin/python" -m ipykernel install --prefix "$venv" --name stance-notebook --display-name "stance (notebook test)" >/dev/null
JUPYTER_PATH="$venv/share/jupyter" "$venv/bin/jupyter" nbconvert \
    --to notebook --execute \
    --ExecutePreprocessor.kernel_name=stance-notebook \
    --ExecutePreprocessor.timeout=600 \
    --output "$(basename "$output")" --output-dir "$(dirname "$output")" \
    "$notebook"
if [[ $# -eq 2 ]]; then
    echo "executed notebook: $output"
else
    echo "notebook ran without errors"
fi
