"""fp32 and TF32 GEMMs at VM-UNet's shapes under one of LibTorch's BLAS choices.

The shapes of gpu_gemm_3xtf32.py; MODE is `default` (cuBLAS as LibTorch picks it), `lt`
(cuBLASLt preferred) or `tunable` (TunableOp times every cuBLAS and cuBLASLt algorithm per shape
and keeps the fastest). Prints each GEMM's median time and the totals.
    for m in default lt tunable; do python3 scripts/gpu_gemm_backends.py $m; done
"""
import sys

import torch

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


def timeit(fn, reps=30):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); fn(); e.record(); torch.cuda.synchronize()
        ts.append(s.elapsed_time(e))
    ts.sort()
    return ts[len(ts) // 2] * 1000.0


total = {"fp32": 0.0, "tf32": 0.0}
for s in range(4):
    C = 96 << s
    M = 32 * (64 >> s) ** 2
    for layer, K, N in (("in_proj", C, 4 * C), ("out_proj", 2 * C, C)):
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
