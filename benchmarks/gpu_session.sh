#!/usr/bin/env bash
# One GPU session: tests/test_gpu.py, then benchmarks/gpu.py --quick, each under a time limit.
# Output under $OUT (default benchmarks/out/gpu): environment.txt, test_gpu.txt, gpu_benchmark.txt, and
# gpu.json (the benchmark's results with their provenance, as written to benchmarks/results/gpu.json).
# Python: $PYTHON, else .venv/bin/python, else python3 (it needs the project's dependencies and ART).
#
#     OUT=/some/folder bash benchmarks/gpu_session.sh      # about 7 minutes on one H200
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/out/gpu}
mkdir -p "$OUT"
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON; elif [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

{
  date -u
  nvidia-smi
  "$PY" -c "import torch, lightning, art; print('torch', torch.__version__, 'lightning', lightning.__version__,
'ART', art.__version__, 'CUDA', torch.cuda.is_available())"
} > "$OUT/environment.txt" 2>&1
cat "$OUT/environment.txt"

start=$(date +%s)
timeout 240 "$PY" -m pytest -q -rs -p no:cacheprovider tests/test_gpu.py > "$OUT/test_gpu.txt" 2>&1
echo "tests/test_gpu.py: exit $? after $(( $(date +%s) - start )) s" >> "$OUT/test_gpu.txt"
tail -n 25 "$OUT/test_gpu.txt"

start=$(date +%s)
timeout 480 "$PY" benchmarks/gpu.py --quick > "$OUT/gpu_benchmark.txt" 2>&1
echo "benchmarks/gpu.py --quick: exit $? after $(( $(date +%s) - start )) s" >> "$OUT/gpu_benchmark.txt"
cat "$OUT/gpu_benchmark.txt"
if [ benchmarks/results/gpu.json -nt "$OUT/environment.txt" ]; then cp benchmarks/results/gpu.json "$OUT/gpu.json"; fi
