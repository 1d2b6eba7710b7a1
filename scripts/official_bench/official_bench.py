#!/usr/bin/env python3
"""Benchmarks the OFFICIAL VM-UNet (JCruan519/VM-UNet's PyTorch code with mamba's selective-scan
CUDA kernels) on a GPU machine that has torch but no mamba_ssm, einops, timm or compiler.

    python3 official_bench.py --lib libofficial_scan.so --vmunet /path/to/VM-UNet [--out r.json]

The scan kernels come from libofficial_scan.so (build_scan_lib.sh), called through ctypes by a
stand-in for mamba_ssm's selective_scan_fn with the official autograd semantics. einops and timm
get minimal stand-ins only when they cannot be imported. The model, the BCE-Dice loss and the
training settings are the official files, loaded as they are (the loss and the settings read out
of utils.py / config_setting.py, whose other imports are not installed there).

Order: a correctness check of the ctypes scan against a plain torch reference (aborts on failure),
then the whole-network steps and the scan alone; a table on stdout and JSON with --out.
"""
import argparse
import ast
import ctypes
import gc
import importlib
import json
import os
import statistics
import sys
import time
import types

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("official_bench: torch is not importable by this python3")

PARAMS_EXPECTED = 27_427_561  # the paper's model: depths [2,2,2,2], decoder [2,2,2,1], 1 class


# ----------------------------------------------------------------------------------------------
# The official kernels through ctypes: the same allocations and calls as mamba's
# selective_scan.cpp fwd / bwd (x zero-filled, gradients of A, B, C, D, delta_bias accumulated
# into zeros, dB / dC kept float32 by the kernel and cast back to B / C's dtype).

class ScanLib:
    def __init__(self, path):
        self.lib = ctypes.CDLL(os.path.abspath(path), mode=os.RTLD_NOW)
        P, I, S = ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int64)
        self.lib.oss_last_error.restype = ctypes.c_char_p
        self.lib.oss_n_chunks.argtypes, self.lib.oss_n_chunks.restype = [I], I
        self.lib.oss_fwd.argtypes = [I] * 7 + [P, S] * 5 + [P, P] + [P, S, P, I, P]
        self.lib.oss_bwd.argtypes = [I] * 7 + [P, S] * 5 + [P, P] + [P, S, P] + [P, S] * 5 + [P, P, I, P]

    @staticmethod
    def _st(t, n):  # element strides of the leading n dims (the last one must be contiguous)
        return (ctypes.c_int64 * n)(*t.stride()[:n])

    @staticmethod
    def _p(t):
        return None if t is None else t.data_ptr()

    def _head(self, u, delta, A, B, C, D, delta_bias, softplus):
        if u.dtype not in (torch.float32, torch.bfloat16):
            raise TypeError(f"selective scan: u must be float32 or bfloat16, not {u.dtype}")
        if delta.dtype != u.dtype or B.dtype != u.dtype or C.dtype != u.dtype:
            raise TypeError("selective scan: delta, B and C must have u's dtype")
        if A.dtype != torch.float32 or A.is_complex():
            raise TypeError("selective scan: A must be real float32")
        if B.dim() != 4 or C.dim() != 4:
            raise ValueError("selective scan: B and C must be (batch, groups, dstate, L)")
        for name, t in (("u", u), ("delta", delta), ("B", B), ("C", C)):
            if t.stride(-1) != 1:
                raise ValueError(f"selective scan: {name} must be contiguous along L")
        batch, dim, seqlen = u.shape
        sizes = [int(u.dtype == torch.bfloat16), batch, dim, seqlen, A.shape[1], B.shape[1],
                 int(bool(softplus))]
        tensors = [self._p(u), self._st(u, 2), self._p(delta), self._st(delta, 2), self._p(A),
                   self._st(A, 2), self._p(B), self._st(B, 3), self._p(C), self._st(C, 3),
                   self._p(D), self._p(delta_bias)]
        return sizes, tensors

    def _check(self, rc):
        if rc != 0:
            raise RuntimeError(self.lib.oss_last_error().decode())

    def fwd(self, u, delta, A, B, C, D, delta_bias, softplus):
        sizes, tensors = self._head(u, delta, A, B, C, D, delta_bias, softplus)
        batch, dim, seqlen = u.shape
        out = torch.empty_like(delta)
        x = torch.zeros(batch, dim, self.lib.oss_n_chunks(seqlen), 2 * A.shape[1],
                        device=u.device, dtype=torch.float32)
        dev = u.device.index if u.device.index is not None else torch.cuda.current_device()
        self._check(self.lib.oss_fwd(*sizes, *tensors, self._p(out), self._st(out, 2),
                                     self._p(x), dev, torch.cuda.current_stream().cuda_stream))
        return out, x

    def bwd(self, u, delta, A, B, C, D, delta_bias, dout, x, softplus):
        sizes, tensors = self._head(u, delta, A, B, C, D, delta_bias, softplus)
        du, ddelta = torch.empty_like(u), torch.empty_like(delta)
        dA = torch.zeros_like(A)
        dB = torch.zeros_like(B, dtype=torch.float32)
        dC = torch.zeros_like(C, dtype=torch.float32)
        dD = None if D is None else torch.zeros_like(D)
        ddelta_bias = None if delta_bias is None else torch.zeros_like(delta_bias)
        dev = u.device.index if u.device.index is not None else torch.cuda.current_device()
        self._check(self.lib.oss_bwd(
            *sizes, *tensors, self._p(dout), self._st(dout, 2), self._p(x),
            self._p(du), self._st(du, 2), self._p(ddelta), self._st(ddelta, 2),
            self._p(dA), self._st(dA, 2), self._p(dB), self._st(dB, 3), self._p(dC), self._st(dC, 3),
            self._p(dD), self._p(ddelta_bias), dev, torch.cuda.current_stream().cuda_stream))
        return du, ddelta, dA, dB.to(B.dtype), dC.to(C.dtype), dD, ddelta_bias


LIB = None  # set by main() before any forward; the stand-in below calls through it


class SelectiveScanFn(torch.autograd.Function):
    """mamba_ssm's SelectiveScanFn without z: saves u, delta, A, B, C, D, delta_bias and the
    forward's x checkpoints; the backward returns du, ddelta, dA, dB, dC, dD, ddelta_bias."""

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                return_last_state=False):
        if z is not None:
            raise NotImplementedError("this stand-in covers z=None only (as VM-UNet calls it)")
        # The official contiguity rules: only the last dim must be contiguous.
        u = u if u.stride(-1) == 1 else u.contiguous()
        delta = delta if delta.stride(-1) == 1 else delta.contiguous()
        D = None if D is None else D.contiguous()
        B = B if B.stride(-1) == 1 else B.contiguous()
        C = C if C.stride(-1) == 1 else C.contiguous()
        ctx.squeeze_B, ctx.squeeze_C = B.dim() == 3, C.dim() == 3
        B = B.unsqueeze(1) if ctx.squeeze_B else B  # (b, n, l) -> (b, 1, n, l)
        C = C.unsqueeze(1) if ctx.squeeze_C else C
        out, x = LIB.fwd(u, delta, A, B, C, D, delta_bias, delta_softplus)
        ctx.delta_softplus = delta_softplus
        ctx.save_for_backward(u, delta, A, B, C, D, delta_bias, x)
        return out if not return_last_state else (out, x[:, :, -1, 1::2])

    @staticmethod
    def backward(ctx, dout, *args):
        u, delta, A, B, C, D, delta_bias, x = ctx.saved_tensors
        dout = dout if dout.stride(-1) == 1 else dout.contiguous()
        du, ddelta, dA, dB, dC, dD, ddelta_bias = LIB.bwd(u, delta, A, B, C, D, delta_bias, dout, x,
                                                          ctx.delta_softplus)
        dB = dB.squeeze(1) if ctx.squeeze_B else dB
        dC = dC.squeeze(1) if ctx.squeeze_C else dC
        return (du, ddelta, dA, dB, dC, dD if D is not None else None, None,
                ddelta_bias if delta_bias is not None else None, None, None)


def selective_scan_fn(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                      return_last_state=False):
    return SelectiveScanFn.apply(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                 return_last_state)


def selective_scan_ref(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                       return_last_state=False):
    """The scan written out step by step in torch (float32 math), for the correctness check:
    h_t = exp(dt_t A) h_{t-1} + dt_t u_t B_t,  y_t = <h_t, C_t> + D u_t,  dt = softplus(delta + bias).
    B and C: (batch, groups, dstate, L), channel d reading group d // (dim / groups)."""
    if z is not None:
        raise NotImplementedError("z is not covered")
    dtype_in = u.dtype
    u, dt = u.float(), delta.float()
    if delta_bias is not None:
        dt = dt + delta_bias[..., None].float()
    if delta_softplus:
        dt = F.softplus(dt)
    dim = u.shape[1]
    Bf = B.float().unsqueeze(1) if B.dim() == 3 else B.float()
    Cf = C.float().unsqueeze(1) if C.dim() == 3 else C.float()
    Bf = Bf.repeat_interleave(dim // Bf.shape[1], dim=1)  # (b, d, n, l)
    Cf = Cf.repeat_interleave(dim // Cf.shape[1], dim=1)
    decay = torch.exp(dt.unsqueeze(2) * A.unsqueeze(-1))  # (b, d, n, l)
    drive = (dt * u).unsqueeze(2) * Bf
    h = u.new_zeros(u.shape[0], dim, A.shape[1])
    ys = []
    for t in range(u.shape[2]):
        h = decay[..., t] * h + drive[..., t]
        ys.append((h * Cf[..., t]).sum(-1))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + u * D.float()[:, None]
    y = y.to(dtype_in)
    return y if not return_last_state else (y, h)


# ----------------------------------------------------------------------------------------------
# Stand-ins, each installed only when the real package does not import.

def _canon(pattern):
    return " ".join(pattern.replace("->", " -> ").split())


def _einops_module():
    """rearrange / repeat for exactly the patterns vmamba.py uses."""
    def rearrange(t, pattern, **ax):
        if _canon(pattern) == "b h w (p1 p2 c) -> b (h p1) (w p2) c":
            b, h, w, k = t.shape
            p1, p2, c = ax["p1"], ax["p2"], ax["c"]
            assert k == p1 * p2 * c, "rearrange: last dim is not p1*p2*c"
            return t.reshape(b, h, w, p1, p2, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h * p1, w * p2, c)
        raise NotImplementedError(f"einops stand-in: rearrange pattern {pattern!r}")

    def repeat(t, pattern, **ax):
        p = _canon(pattern)
        # A new leading axis, as einops makes it: a broadcast view (the callers copy it).
        if p in ("n -> d n", "d n -> r d n", "n1 -> r n1"):
            (k,) = ax.values()
            return t.unsqueeze(0).expand(k, *t.shape)
        raise NotImplementedError(f"einops stand-in: repeat pattern {pattern!r}")

    m = types.ModuleType("einops")
    m.rearrange, m.repeat = rearrange, repeat
    return {"einops": m}


def _timm_modules():
    """timm.models.layers: DropPath (per-sample stochastic depth, kept samples scaled by
    1/keep), to_2tuple, trunc_normal_ (torch's, the same algorithm and signature)."""
    class DropPath(nn.Module):
        def __init__(self, drop_prob=0.0, scale_by_keep=True):
            super().__init__()
            self.drop_prob, self.scale_by_keep = drop_prob, scale_by_keep

        def forward(self, x):
            if not self.drop_prob or not self.training:
                return x
            keep = 1.0 - self.drop_prob
            mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
            if keep > 0.0 and self.scale_by_keep:
                mask.div_(keep)
            return x * mask

    def to_2tuple(x):
        return tuple(x) if isinstance(x, (list, tuple)) else (x, x)

    timm, models, layers = (types.ModuleType(n) for n in ("timm", "timm.models", "timm.models.layers"))
    layers.DropPath, layers.to_2tuple, layers.trunc_normal_ = DropPath, to_2tuple, nn.init.trunc_normal_
    timm.models, models.layers = models, layers
    return {"timm": timm, "timm.models": models, "timm.models.layers": layers}


def _mamba_modules():
    pkg, ops, iface = (types.ModuleType(n) for n in
                       ("mamba_ssm", "mamba_ssm.ops", "mamba_ssm.ops.selective_scan_interface"))
    iface.selective_scan_fn, iface.selective_scan_ref = selective_scan_fn, selective_scan_ref
    pkg.ops, ops.selective_scan_interface = ops, iface
    return {"mamba_ssm": pkg, "mamba_ssm.ops": ops, "mamba_ssm.ops.selective_scan_interface": iface}


def install_standins(force=False):
    """Returns {package: 'real' | 'stand-in'}. force: stand-ins even where the real package
    imports (to test them against it: the model fingerprint must not change)."""
    used = {}
    for name, make in (("einops", _einops_module), ("timm.models.layers", _timm_modules),
                       ("mamba_ssm.ops.selective_scan_interface", _mamba_modules)):
        try:
            if force:
                raise ImportError
            importlib.import_module(name)
            used[name] = "real"
        except Exception:  # not installed, or installed without its compiled parts
            for key in [k for k in sys.modules if k == name.split(".")[0] or
                        k.startswith(name.split(".")[0] + ".")]:
                del sys.modules[key]
            sys.modules.update(make())
            used[name] = "stand-in"
    return used


# ----------------------------------------------------------------------------------------------
# The official files, loaded without their unavailable imports.

def load_vmunet_class(root):
    """models/vmunet/vmunet.py as package 'official_vmunet' (its `from .vmamba import VSSM`
    resolves inside it), so nothing is added to sys.path."""
    pkg = types.ModuleType("official_vmunet")
    pkg.__path__ = [os.path.join(root, "models", "vmunet")]
    sys.modules["official_vmunet"] = pkg
    return importlib.import_module("official_vmunet.vmunet").VMUNet


def load_loss_class(root):
    """BCELoss, DiceLoss and BceDiceLoss from utils.py, executed as written (the file's other
    imports - matplotlib, scipy, SimpleITK, medpy, thop - are not needed by them)."""
    path = os.path.join(root, "utils.py")
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    keep = [n for n in tree.body if isinstance(n, ast.ClassDef) and
            n.name in ("BCELoss", "DiceLoss", "BceDiceLoss")]
    if len(keep) != 3:
        raise RuntimeError(f"{path}: BCELoss / DiceLoss / BceDiceLoss not found")
    ns = {"torch": torch, "nn": nn, "F": F}
    exec(compile(ast.Module(body=keep, type_ignores=[]), path, "exec"), ns)
    return ns["BceDiceLoss"]


def read_config(root):
    """model_config and the AdamW settings of configs/config_setting.py, read as literals."""
    path = os.path.join(root, "configs", "config_setting.py")
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "setting_config")
    cfg, adamw = {}, {}

    def assigns(body, into):
        for n in body:
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
                try:
                    into[n.targets[0].id] = ast.literal_eval(n.value)
                except (ValueError, TypeError, SyntaxError):  # not a literal (a call, an expression)
                    pass

    assigns(cls.body, cfg)
    for n in ast.walk(cls):  # the `elif opt == 'AdamW':` branch
        if (isinstance(n, ast.If) and isinstance(n.test, ast.Compare) and
                isinstance(n.test.comparators[0], ast.Constant) and n.test.comparators[0].value == "AdamW"):
            assigns(n.body, adamw)
    if cfg.get("opt") != "AdamW" or not adamw:
        raise RuntimeError(f"{path}: expected opt = 'AdamW' with its settings")
    model = {k: v for k, v in cfg["model_config"].items() if k != "load_ckpt_path"}
    return model, adamw, cfg


# ----------------------------------------------------------------------------------------------

def rel_err(a, b):
    return (a.float() - b.float()).abs().max().item() / max(b.float().abs().max().item(), 1e-12)


def scan_inputs(batch, dim, groups, L, N, dtype, dev, seed=0):
    """Random scan inputs, as our `vmunet bench --scan` makes them (model/selective_scan_bench.cpp):
    u, delta, B, C, dy in `dtype`; A, D, delta_bias float32; delta before softplus."""
    g = torch.Generator(device=dev).manual_seed(seed)
    f32 = dict(device=dev, dtype=torch.float32, generator=g)
    u = torch.randn(batch, dim, L, **f32).to(dtype)
    delta = (torch.randn(batch, dim, L, **f32) * 0.5 - 1.0).to(dtype)
    A = -torch.exp(torch.randn(dim, N, **f32) * 0.5)
    B = torch.randn(batch, groups, N, L, **f32).to(dtype)
    C = torch.randn(batch, groups, N, L, **f32).to(dtype)
    D, bias = torch.randn(dim, **f32), torch.randn(dim, **f32) * 0.3
    dy = torch.randn(batch, dim, L, **f32).to(dtype)
    return u, delta, A, B, C, D, bias, dy


def check_scan():
    """The ctypes scan against selective_scan_ref: output and all seven gradients. fp32 must agree
    to 1e-4 (output) / 1e-3 (gradients), relative to each tensor's largest magnitude. B and C are
    cut out of one (b, K, r + 2N, L) tensor, as VM-UNet's torch.split makes them (strided groups);
    L 4096 exercises the x checkpoints between the kernel's 2048-long chunks. bf16: printed only."""
    dev, N, r, results, ok = torch.device("cuda"), 16, 6, [], True
    torch.manual_seed(0)
    cases = [("fp32 b2 K4x8ch L64", torch.float32, 2, 32, 4, 64),
             ("fp32 b1 K4x2ch L4096 (2 chunks)", torch.float32, 1, 8, 4, 4096),
             ("bf16 b2 K4x8ch L64 (info)", torch.bfloat16, 2, 32, 4, 64)]
    names = ["out", "du", "ddelta", "dA", "dB", "dC", "dD", "ddelta_bias"]
    for label, dtype, batch, dim, groups, L in cases:
        u, delta, A, _, _, D, bias, dy = scan_inputs(batch, dim, groups, L, N, dtype, dev)
        x_dbl = torch.randn(batch, groups, r + 2 * N, L, device=dev).to(dtype)
        outs, grads = [], []
        for fn, cast in ((selective_scan_fn, lambda t: t), (selective_scan_ref, lambda t: t.float())):
            leaves = [cast(t).detach().clone().requires_grad_() for t in (u, delta, A, x_dbl, D, bias)]
            _, B, C = torch.split(leaves[3], [r, N, N], dim=2)
            y = fn(leaves[0], leaves[1], leaves[2], B, C, leaves[4], None, leaves[5], True)
            y.backward(cast(dy))
            g = [t.grad for t in leaves]
            outs.append(y)
            grads.append(g[:3] + [g[3][:, :, r:r + N], g[3][:, :, r + N:]] + g[4:])
        errs = [rel_err(*outs)] + [rel_err(a, b) for a, b in zip(*grads)]
        passed = errs[0] < 1e-4 and max(errs[1:]) < 1e-3
        if dtype == torch.float32:
            ok = ok and passed
        verdict = ("ok" if passed else "FAIL") if dtype == torch.float32 else "info"
        print(f"  {label:34s} {verdict:4s} " + " ".join(f"{n} {e:.1e}" for n, e in zip(names, errs)))
        results.append({"case": label, "dtype": str(dtype), "passed": passed,
                        "rel_err": dict(zip(names, errs))})
    return ok, results


def fingerprint(VMUNet, model_cfg):
    """Mean outputs of a seeded model on a seeded 64x64 input, in eval mode and in train mode
    (drop-path active): equal with real einops / timm and with the stand-ins, bit for bit."""
    set_precision(False)
    torch.manual_seed(0)
    model = VMUNet(**model_cfg).cuda()
    x = torch.randn(2, 3, 64, 64, device="cuda")
    with torch.no_grad():
        ev = model.eval()(x).double().mean().item()
        torch.manual_seed(1)
        tr = model.train()(x).double().mean().item()
    return {"eval_mean": ev, "train_mean": tr}


def time_ms(fn, steps, warmup):
    """Median device time of fn over `steps` calls after `warmup`, between CUDA events."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
              for _ in range(steps)]
    for start, stop in events:
        start.record()
        fn()
        stop.record()
    torch.cuda.synchronize()
    return statistics.median([s.elapsed_time(e) for s, e in events])


def set_precision(tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def bench_model(VMUNet, BceDiceLoss, model_cfg, adamw, name, train, mode, batch, size, steps, warmup):
    """One setting: a fresh model; train = forward + BceDiceLoss(wb=1, wd=1) on the sigmoid output
    + backward + AdamW step (engine.py's train_one_epoch without its logging), or eval + no_grad
    forward. mode: fp32 (TF32 off), tf32 (on), bf16 (autocast bf16, fp32 weights, TF32 off)."""
    gc.collect()
    torch.cuda.empty_cache()
    set_precision(mode == "tf32")
    torch.manual_seed(0)
    model = VMUNet(**model_cfg).cuda().train(train)
    opt = torch.optim.AdamW(model.parameters(), **adamw) if train else None
    criterion = BceDiceLoss(wb=1, wd=1)
    images = torch.randn(batch, 3, size, size, device="cuda")
    targets = (torch.rand(batch, 1, size, size, device="cuda") > 0.5).float()
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=(mode == "bf16"))

    def step():
        if train:
            opt.zero_grad()
            with amp:
                out = model(images)
            # The loss outside autocast: autocast refuses binary_cross_entropy (nn.BCELoss).
            loss = criterion(out.float(), targets)
            loss.backward()
            opt.step()
        else:
            with torch.no_grad(), amp:
                model(images)

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    ms = time_ms(step, steps, warmup)
    peak = torch.cuda.max_memory_allocated() / 2**30
    del model, opt, images, targets
    return {"name": name, "ms": ms, "images_per_s": batch / ms * 1e3, "peak_gib": peak}


def bench_scan(dtype, steps, warmup, batch=32, dim=768, groups=4, L=4096, N=16):
    """The official scan alone at stage 1 of a 256x256 batch-32 input, as selective_scan_cuda's fwd
    and bwd run (their allocations included): forward, backward from the forward's x, both."""
    gc.collect()
    torch.cuda.empty_cache()
    u, delta, A, B, C, D, bias, dy = scan_inputs(batch, dim, groups, L, N, dtype, torch.device("cuda"))
    _, x = LIB.fwd(u, delta, A, B, C, D, bias, True)
    fwd = time_ms(lambda: LIB.fwd(u, delta, A, B, C, D, bias, True), steps, warmup)
    bwd = time_ms(lambda: LIB.bwd(u, delta, A, B, C, D, bias, dy, x, True), steps, warmup)

    def both():
        _, xs = LIB.fwd(u, delta, A, B, C, D, bias, True)
        LIB.bwd(u, delta, A, B, C, D, bias, dy, xs, True)

    total = time_ms(both, steps, warmup)
    tag = "fp32" if dtype == torch.float32 else "bf16"
    return {"name": f"scan {tag} ({batch}, {dim}, {L}), {groups} groups, N {N}",
            "fwd_ms": fwd, "bwd_ms": bwd, "fwd_bwd_ms": total}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lib", help="libofficial_scan.so (build_scan_lib.sh)")
    ap.add_argument("--vmunet", required=True, help="checkout of JCruan519/VM-UNet")
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--only", help="run only the benchmarks whose name contains this")
    ap.add_argument("--standins", choices=["auto", "all"], default="auto",
                    help="all: use the einops / timm / mamba_ssm stand-ins even where those import")
    ap.add_argument("--torch-default-cudnn", action="store_true",
                    help="leave cuDNN as torch sets it (default: deterministic, no benchmark, "
                         "as the official train.py's set_seed)")
    ap.add_argument("--check-model", action="store_true",
                    help="build the model on the CPU, print its parameter count and stop")
    args = ap.parse_args()

    root = os.path.abspath(args.vmunet)
    for rel in ("models/vmunet/vmunet.py", "models/vmunet/vmamba.py", "utils.py", "configs/config_setting.py"):
        if not os.path.isfile(os.path.join(root, rel)):
            sys.exit(f"official_bench: {os.path.join(root, rel)} not found (--vmunet must be a VM-UNet checkout)")
    if not args.check_model:
        if not args.lib or not os.path.isfile(args.lib):
            sys.exit(f"official_bench: scan library {args.lib!r} not found (build it with build_scan_lib.sh)")
        if not torch.cuda.is_available():
            sys.exit("official_bench: no CUDA device visible to torch")

    packages = install_standins(force=args.standins == "all")
    VMUNet, BceDiceLoss = load_vmunet_class(root), load_loss_class(root)
    model_cfg, adamw, _ = read_config(root)
    n_params = sum(p.numel() for p in VMUNet(**model_cfg).parameters())
    print(f"official VM-UNet {root}: {n_params:,} parameters (expected {PARAMS_EXPECTED:,}), "
          f"model_config {model_cfg}, AdamW {adamw}; packages {packages}")
    if n_params != PARAMS_EXPECTED:
        print(f"WARNING: parameter count differs from {PARAMS_EXPECTED:,}")
    if args.check_model:
        return

    global LIB
    LIB = ScanLib(args.lib)
    if not args.torch_default_cudnn:  # as the official train.py (set_seed): no autotuning
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    cudnn = {"deterministic": torch.backends.cudnn.deterministic,
             "benchmark": torch.backends.cudnn.benchmark}
    gpu = torch.cuda.get_device_name()
    print(f"{gpu}, torch {torch.__version__} (CUDA {torch.version.cuda}), scan library {args.lib}")

    print("correctness of the ctypes scan against the torch reference (rel. max error):")
    if packages["mamba_ssm.ops.selective_scan_interface"] == "real":
        print("  (mamba_ssm imports here: the model runs its own kernels, the check runs ours)")
    ok, check = check_scan()
    if not ok:
        sys.exit("official_bench: the ctypes scan disagrees with the reference; not benchmarking")
    fp = fingerprint(VMUNet, model_cfg)
    print(f"model fingerprint (seeded 2x3x64x64): eval mean {fp['eval_mean']:.12e}, "
          f"train mean {fp['train_mean']:.12e}")

    s, w = args.steps, args.warmup
    runs = [("train fp32, b32, 256²", True, "fp32", 32, 256), ("train tf32, b32, 256²", True, "tf32", 32, 256),
            ("train bf16, b32, 256²", True, "bf16", 32, 256), ("inference fp32, b32, 256²", False, "fp32", 32, 256),
            ("inference bf16, b32, 256²", False, "bf16", 32, 256), ("train fp32, b8, 512²", True, "fp32", 8, 512),
            ("train fp32, b32, 512²", True, "fp32", 32, 512)]
    results, scans = [], []
    for name, train, mode, batch, size in runs:
        if args.only and args.only not in name:
            continue
        try:
            r = bench_model(VMUNet, BceDiceLoss, model_cfg, adamw, name, train, mode, batch, size, s, w)
            print(f"  {name:28s} {r['ms']:9.1f} ms {r['images_per_s']:8.1f} img/s {r['peak_gib']:7.2f} GiB", flush=True)
        except Exception as e:  # e.g. out of memory: record it and go on
            r = {"name": name, "error": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
            print(f"  {name:28s} failed: {r['error']}", flush=True)
        results.append(r)
    set_precision(False)
    for dtype in (torch.float32, torch.bfloat16):
        tag = "scan " + ("fp32" if dtype == torch.float32 else "bf16")
        if args.only and args.only not in tag:
            continue
        r = bench_scan(dtype, s, w)
        print(f"  {r['name']:40s} fwd {r['fwd_ms']:.3f} ms  bwd {r['bwd_ms']:.3f} ms  "
              f"fwd+bwd {r['fwd_bwd_ms']:.3f} ms", flush=True)
        scans.append(r)

    print(f"\nofficial VM-UNet on {gpu}, torch {torch.__version__}, median of {s} after {w} warm-up, "
          f"cuDNN {cudnn}")
    print("| setting | ms | images/s | peak GiB |\n| --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['name']} | " + (f"failed: {r['error']} | | |" if "error" in r else
              f"{r['ms']:.1f} | {r['images_per_s']:.1f} | {r['peak_gib']:.2f} |"))
    print("| scan alone | fwd ms | bwd ms | fwd+bwd ms |\n| --- | --- | --- | --- |")
    for r in scans:
        print(f"| {r['name']} | {r['fwd_ms']:.3f} | {r['bwd_ms']:.3f} | {r['fwd_bwd_ms']:.3f} |")

    if args.out:
        report = {
            "gpu": gpu, "torch": torch.__version__, "cuda": torch.version.cuda,
            "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "lib": os.path.abspath(args.lib), "vmunet": root, "packages": packages,
            "parameters": n_params, "model_config": model_cfg, "adamw": adamw,
            "steps": s, "warmup": w, "cudnn": cudnn,
            "correctness": check, "fingerprint": fp, "results": results, "scan": scans}
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
