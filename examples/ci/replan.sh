#!/usr/bin/env bash
# Re-plan every scenario of a procurement workbook and gate the change, for CI (or by hand).
#
#   replan.sh [WORKBOOK] [MODELS_DIR] [OUT_DIR] [FAIL_ON]
#
# Each argument may instead come from the environment (an argument wins):
#   PROCURE_WORKBOOK   the input workbook                 (default inputs/plan.xlsx)
#   PROCURE_MODELS     folder of scenario files *.toml    (default models)
#   PROCURE_OUT        folder for plans and comparison    (default plans)
#   PROCURE_FAIL_ON    batch --fail-on conditions         (default infeasible,not_optimal,error)
#   PROCURE_SOLVER     --solver (default highs)           PROCURE_WORKERS  --workers (default 1)
#   PROCURE_BASELINE   --baseline: the scenario the others are compared with (default: baseline)
#   PROCURE            the procure command                (default procure)
#   PROCURE_PACKAGE    what pip installs                  (default procure; a path or a git URL works too)
#   PROCURE_SKIP_INSTALL=1   procure is already installed: skip the pip step
#   GITHUB_STEP_SUMMARY      when set (GitHub Actions), the comparison is appended there as a table
#
# Exit code: procure batch's (0 every scenario passed the gates, 4 a --fail-on condition was met,
# 1 input problems). The plans and the comparison are written in every case.
set -euo pipefail

WORKBOOK=${1:-${PROCURE_WORKBOOK:-inputs/plan.xlsx}}
MODELS=${2:-${PROCURE_MODELS:-models}}
OUT=${3:-${PROCURE_OUT:-plans}}
FAIL_ON=${4:-${PROCURE_FAIL_ON:-infeasible,not_optimal,error}}
PROCURE=${PROCURE:-procure}
PYTHON=${PYTHON:-python3}

if [ "${PROCURE_SKIP_INSTALL:-0}" != "1" ]; then
    "$PYTHON" -m pip install --quiet "${PROCURE_PACKAGE:-procure}"
fi

# baseline.toml first (batch compares with the scenario named baseline by default), then by name
shopt -s nullglob
models=()
[ -f "$MODELS/baseline.toml" ] && models+=("$MODELS/baseline.toml")
for model in "$MODELS"/*.toml; do
    [ "$model" = "$MODELS/baseline.toml" ] || models+=("$model")
done
if [ ${#models[@]} -eq 0 ]; then
    echo "no scenario files (*.toml) in $MODELS" >&2
    exit 1
fi

mkdir -p "$OUT"
status=0
baseline=()
[ -n "${PROCURE_BASELINE:-}" ] && baseline=(--baseline "$PROCURE_BASELINE")
"$PROCURE" batch "$WORKBOOK" "${models[@]}" --output "$OUT" --fail-on "$FAIL_ON" ${baseline[@]+"${baseline[@]}"} \
    --solver "${PROCURE_SOLVER:-highs}" --workers "${PROCURE_WORKERS:-1}" || status=$?

# the JSON comparison as a markdown table: in the job summary on GitHub, else on standard output
comparison="$OUT/$(basename "${WORKBOOK%.*}")-comparison.json"
summary_table() {
    "$PYTHON" - "$comparison" "$status" <<'PY'
import json
import sys

comparison = json.load(open(sys.argv[1], encoding="utf-8"))
status = int(sys.argv[2])


def usd(value):
    return "-" if value is None else f"${value:,.0f}"


def share(value):
    return "-" if value is None else f"{value:.1%}"


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


verdict = {0: "passed", 4: "failed a gate"}.get(status, f"failed (exit {status})")
print(f"## procure re-plan: {cell(comparison['workbook'])} ({verdict})\n")
print(f"Compared with scenario **{cell(comparison.get('baseline', ''))}**; shortfall valued at reference prices.\n")
print("| scenario | status | spend | vs baseline | shortfall value | China share | budget used |")
print("|---|---|---:|---:|---:|---:|---:|")
for row in comparison["scenarios"]:
    print(f"| {cell(row['scenario'])} | {row['status']} | {usd(row.get('spend_usd'))} "
          f"| {usd(row.get('spend_usd_vs_baseline'))} | {usd(row.get('shortfall_usd'))} "
          f"| {share(row.get('china_share'))} | {share(row.get('budget_used'))} |")
gates = ", ".join(comparison["fail_on"]) or "none"
print(f"\nGates (--fail-on): {gates}")
for line in comparison["failed"]:
    print(f"- :x: {cell(line)}")
print()
PY
}
if [ -f "$comparison" ]; then
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        summary_table >>"$GITHUB_STEP_SUMMARY"
    else
        summary_table
    fi
fi
exit "$status"
