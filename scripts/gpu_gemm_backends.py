"""fp32 and TF32 GEMMs at VM-UNet's shapes under one of LibTorch's BLAS choices.

The shapes of gpu_gemm_3xtf32.py; MODE is `default` (cuBLAS as LibTorch picks it), `lt`
(cuBLASLt preferred) or `tunable` (TunableOp times every cuBLAS and cuBLASLt algorithm per shape
and keeps the fastest). Prints each GEMM's median time and the totals.
    for m in default lt tunable; do python3 scripts/gpu_gemm_backends.py $m; done
"""
import sys

import torch

from gpu_gemm_3xtf32 import stage_layers, timeit

dev = "cuda"
mode = sys.argv[1] if len(sys.argv) == 2 else ""
if mode not in ("default", "lt", "tunable"):
    sys.exit("usage: gpu_gemm_backends.py default|lt|tunable")
if mode == "lt":
    torch.backends.cuda.preferred_blas_library("cublaslt")
if mode == "tunable":
    torch.cuda.tunable.set_filename("/tmp/tunable.csv")
    torch.cuda.tunable.enable(True)
    torch.cuda.tunable.tuning_enable(True)


total = {"fp32": 0.0, "tf32": 0.0}
for s, layer, M, K, N in stage_layers():
    x = torch.randn(M, K, device=dev)
    w = torch.randn(N, K, device=dev)
    dy = torch.randn(M, N, device=dev)
    cases = (("fwd", lambda: torch.nn.functional.linear(x, w)),
             ("dX", lambda: dy @ w),
             ("dW", lambda: dy.t() @ x))
    for name, fn in cases:
        line = f"{mode:8s} s{s} {layer:8s} {name:3s}"
        for prec in ("fp32", "tf32"):
            torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
            t = timeit(fn)
            total[prec] += t
            line += f" {prec} {t:7.1f}us"
        print(line, flush=True)
print(f"{mode:8s} total fp32 {total['fp32']:.0f}us tf32 {total['tf32']:.0f}us", flush=True)
