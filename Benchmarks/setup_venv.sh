#!/usr/bin/env bash
# Installs the PyTorch reference into the git-ignored .venv-bench/ (first use only).
# Never part of CI or the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-bench/bin/python ] || ! .venv-bench/bin/python -c 'import torch' 2>/dev/null; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet torch numpy safetensors
fi
# ONNX Runtime and onnx for Tests/RecurrentTests/Fixtures/make_onnx_fixtures.py (rnn export).
if ! .venv-bench/bin/python -c 'import onnx, onnxruntime' 2>/dev/null; then
    .venv-bench/bin/pip install --quiet onnxruntime onnx
fi
.venv-bench/bin/python -c 'import torch; print("torch", torch.__version__)'
