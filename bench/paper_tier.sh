#!/usr/bin/env bash
# The paper tier on one GPU inside a fixed wall-clock budget, ending with a report of
# every claim judged from the run cache.
#
#   bench/paper_tier.sh BUDGET_S OUTDIR [ITEM ...]      ITEM = MAX_S:K_EXPR[:EXTRA_ARGS]
#
# 1. the CUDA-graph step is checked against the eager step and the reference trainer
#    on this GPU (tests/test_static_step.py);
# 2. each ITEM trains the claims `pytest -k K_EXPR` selects (with EXTRA_ARGS, e.g.
#    "--seeds 2" for a pilot), for at most MAX_S seconds and the time left; each ensemble
#    is stored in the run cache as it finishes, so a cut-off item loses only the one in
#    training, and its progress lines (step, rate, ETA) stay in its log. Each item's own
#    results.json is kept (a pilot's card lives there). The item BENCH runs
#    bench/bench_step.py (eager vs graph step) instead, and ESTIMATE runs
#    bench/bench_estimate.py (the FLOP formula and the probe against measured time);
# 3. every claim is judged with --train-limit 0: from the cache, the rest NOT RUN with
#    the estimate of what they would take. 60 s are kept for this step.
# OUTDIR receives index.html, results.json, step.json, logs.tgz (logs and each item's
# results) and cache.tgz (carry it into the next session: grokcore cache import).
# GROKCORE_CACHE and SCALE override the cache (default /tmp/grokcore-cache) and the
# scale (default full).
set -u
budget=${1:?budget in seconds}
out=${2:?output directory}
shift 2
t0=$(date +%s)
left() { echo $((t0 + budget - $(date +%s))); }
cache=${GROKCORE_CACHE:-/tmp/grokcore-cache}
scale=${SCALE:-full}
work=$(mktemp -d)
mkdir -p "$out" "$cache" "$work/logs"
export PYTHONUNBUFFERED=1
claims() {
    python3 -m pytest claims/ --scale "$scale" --run-cache "$cache" -p no:cacheprovider -q -s "$@"
}

{
    nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    timeout 150 python3 -m pytest tests/test_static_step.py -q -p no:cacheprovider
} >"$work/logs/gpu-tests.log" 2>&1
tail -3 "$work/logs/gpu-tests.log"

n=0
for item in "$@"; do
    n=$((n + 1))
    max=${item%%:*}
    rest=${item#*:}
    expr=${rest%%:*}
    extra=""
    [ "$rest" != "$expr" ] && extra=${rest#*:}
    room=$(($(left) - 60))
    [ "$room" -gt "$max" ] && room=$max
    if [ "$room" -lt 30 ]; then echo "== no time left for: $expr $extra"; continue; fi
    if [ "$expr" = ESTIMATE ]; then
        echo "== estimate vs measured (at most ${room}s)"
        timeout "$room" python3 bench/bench_estimate.py --device cuda --steps 2000 \
            >"$work/logs/estimate.log" 2>&1
        tail -8 "$work/logs/estimate.log"
        cp bench/results/estimate-*.json "$out/" 2>/dev/null
        continue
    fi
    if [ "$expr" = BENCH ]; then
        echo "== bench (at most ${room}s)"
        timeout "$room" python3 bench/bench_step.py --device cuda --out "$out/step.json" \
            >"$work/logs/bench.log" 2>&1
        tail -7 "$work/logs/bench.log"
        continue
    fi
    echo "== train -k '$expr' $extra (at most ${room}s)"
    # shellcheck disable=SC2086  # EXTRA_ARGS is split into words on purpose
    timeout "$room" bash -c "$(declare -f claims); scale='$scale' cache='$cache'; \
        claims -k '$expr' $extra --report '$work/pass$n/index.html'" \
        >"$work/logs/train-$n.log" 2>&1
    echo "   exit $? after $(($(date +%s) - t0))s"
    tail -2 "$work/logs/train-$n.log"
    cp "$work/pass$n/results.json" "$work/logs/results-$n.json" 2>/dev/null
done

echo "== report from the cache"
timeout $(($(left) > 20 ? $(left) - 10 : 10)) python3 -m pytest claims/ --scale "$scale" \
    --run-cache "$cache" --train-limit 0 -p no:cacheprovider -q \
    --report "$work/report/index.html" >"$work/logs/report.log" 2>&1
tail -2 "$work/logs/report.log"
cp "$work/report/index.html" "$work/report/results.json" "$out/" 2>/dev/null
tar czf "$out/logs.tgz" -C "$work/logs" .
tar czf "$out/cache.tgz" -C "$cache" .
echo "done after $(($(date +%s) - t0))s"
