"""Would 3xTF32 (fp32 on the tensor cores) beat cuBLAS's fp32 FFMA GEMMs on VM-UNet's linear layers?

Times in_proj's and out_proj's forward, input-gradient and weight-gradient GEMMs at the four stages
of vmunet-t (batch 32, 256²) with PyTorch on the GPU machine: fp32 (TF32 off), TF32, 3xTF32 through
cuBLAS (operands split into a TF32 part and remainder, concatenated along K for one GEMM, or three
GEMMs accumulated), and the tripled-K GEMM alone; each with its error against float64, relative to
the largest output. docs/performance.md ("fp32 GEMMs on the tensor cores") has the H200's figures.
    python3 scripts/gpu_gemm_3xtf32.py
"""
import torch

dev = "cuda"


def timeit(fn, reps=30):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        ts.append(s.elapsed_time(e))
    ts.sort()
    return ts[len(ts) // 2] * 1000.0  # us


def split(a):
    hi = ((a.view(torch.int32) + 0x1000) & -0x2000).view(torch.float32)
    return hi, a - hi


def mm3_kcat(a, b):  # a (M,K) @ b (K,N), one TF32 GEMM over 3K
    ah, al = split(a)
    bh, bl = split(b)
    return torch.cat([ah, ah, al], 1) @ torch.cat([bh, bl, bh], 0)


def mm3_three(a, b):  # three TF32 GEMMs accumulated
    ah, al = split(a)
    bh, bl = split(b)
    out = al @ bh
    out.addmm_(ah, bl)
    out.addmm_(ah, bh)
    return out


def run(name, a, b):
    ref = (a.double() @ b.double())
    scale = ref.abs().max().item()
    res = {}
    torch.backends.cuda.matmul.allow_tf32 = False
    res["fp32"] = (timeit(lambda: a @ b), ((a @ b).double() - ref).abs().max().item() / scale)
    torch.backends.cuda.matmul.allow_tf32 = True
    res["tf32"] = (timeit(lambda: a @ b), ((a @ b).double() - ref).abs().max().item() / scale)
    for nm, fn in (("3x-kcat", mm3_kcat), ("3x-three", mm3_three)):
        res[nm] = (timeit(lambda: fn(a, b)), (fn(a, b).double() - ref).abs().max().item() / scale)
    ah, al = split(a)
    bh, bl = split(b)
    A3, B3 = torch.cat([ah, ah, al], 1), torch.cat([bh, bl, bh], 0)
    res["gemm3K-only"] = (timeit(lambda: A3 @ B3), 0.0)
    torch.backends.cuda.matmul.allow_tf32 = False
    flops = 2 * a.shape[0] * a.shape[1] * b.shape[1]
    line = f"{name:28s} M{a.shape[0]:7d} K{a.shape[1]:7d} N{b.shape[1]:5d} |"
    for k, (t, err) in res.items():
        line += f" {k} {t:7.1f}us ({flops / t / 1e6:5.1f} TF/s, err {err:.1e}) |"
    print(line, flush=True)


def stage_layers():
    """(stage, layer, M, K, N) of in_proj and out_proj at vmunet-t's four stages, batch 32, 256²."""
    for s in range(4):
        C = 96 << s
        M = 32 * (64 >> s) ** 2
        for layer, K, N in (("in_proj", C, 4 * C), ("out_proj", 2 * C, C)):
            yield s, layer, M, K, N


if __name__ == "__main__":
    torch.manual_seed(0)
    print(torch.cuda.get_device_name(), torch.__version__)
    for s, layer, M, K, N in stage_layers():
        x = torch.randn(M, K, device=dev)
        w = torch.randn(K, N, device=dev) / K**0.5
        dy = torch.randn(M, N, device=dev)
        run(f"s{s} {layer} fwd", x, w)
        run(f"s{s} {layer} dX", dy, w.t().contiguous())
        run(f"s{s} {layer} dW", x.t(), dy)
