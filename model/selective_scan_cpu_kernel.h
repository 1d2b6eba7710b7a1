// The CPU selective scan's kernels, compiled once per instruction set by the small files
// selective_scan_cpu_<isa>.cpp (each defines VMUNET_SCAN_ISA, the namespace it fills, before
// including this); model/selective_scan_cpu.cpp picks one at run time.
//
// One task is one (batch, group): its B and C tiles are transposed once into position-major
// scratch and shared by the group's channels. The forward scans kLanes channels at a time, one
// per vector lane (see kLanes); the backward one channel at a time, its state loop over n
// vectorised (one block of channels would keep kLanes times the decays and states, which then
// leave the L1 cache: tried, 10-30% slower than per channel). The recurrence over positions is the
// only serial dependency. Scratch is thread-local and reused across calls; every reduction runs in
// a fixed order, so results do not depend on the thread count. Accumulation is in T (fp32 for
// float, as the reference kernel does).
#pragma once

#ifndef VMUNET_SCAN_ISA
#error "define VMUNET_SCAN_ISA (the instruction set's namespace) before including this file"
#endif

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "model/cpu_exp.h"
#include "model/cpu_partial_sums.h"
#include "model/selective_scan.h"
#include "model/selective_scan_cpu_isa.h"

namespace vmunet::VMUNET_SCAN_ISA {
namespace {

// log(1 + t) for t in [0, 1], in plain arithmetic like exp_of: w = 1 + t rounded, log w by
// Cephes' logf polynomial around 1, times t / (w − 1) to undo the rounding of w (Goldberg's trick,
// so small t keep their digits). About 2e−7 relative error.
inline float log1p_of(float t) {
  const float w = 1.0f + t, d = w - 1.0f;
  const bool big = w > 1.41421356f;
  const float e = big ? 1.0f : 0.0f, x = (big ? w * 0.5f : w) - 1.0f, z = x * x;
  float y = 7.0376836292e-2f;
  y = y * x - 1.1514610310e-1f;
  y = y * x + 1.1676998740e-1f;
  y = y * x - 1.2420140846e-1f;
  y = y * x + 1.4249322787e-1f;
  y = y * x - 1.6668057665e-1f;
  y = y * x + 2.0000714765e-1f;
  y = y * x - 2.4999993993e-1f;
  y = y * x + 3.3333331174e-1f;
  y = y * x * z + e * -2.12194440e-4f - 0.5f * z;
  const float log_w = x + y + e * 0.693359375f;
  return d == 0.0f ? t : log_w * (t / (d == 0.0f ? 1.0f : d));
}

// softplus with the same threshold as mamba's kernel: linear above 20; its derivative, sigmoid.
// In float as max(z, 0) + log1p(exp(−|z|)), which vectorises.
inline float softplus(float z, ExpK lim) {
  const float pos = z > 0.0f ? z : 0.0f, neg_abs = z > 0.0f ? -z : z;
  return z > 20.0f ? z : pos + log1p_of(exp_of(neg_abs, lim));
}
inline double softplus(double z, ExpK) { return z <= 20.0 ? std::log1p(std::exp(z)) : z; }
template <typename T>
inline T softplus_grad(T z, ExpK lim) {
  return z <= T(20) ? T(1) / (T(1) + exp_of(-z, lim)) : T(1);
}

// Memory position of scan step l in a group's sequences: l, or length − 1 − l when reversed.
struct Walk {
  int64_t first, stride;
  int64_t operator()(int64_t l) const { return first + stride * l; }
};
template <typename P>
Walk walk(const P& p, int64_t g) {
  return p.reversed(g) ? Walk{p.length - 1, -1} : Walk{0, 1};
}

// Channels scanned side by side, one per vector lane (eight floats fill an AVX2 register). The
// lanes are independent recurrences, so the innermost loop has no horizontal sum and the 16
// states give 16 independent chains per position; B and C, shared by a group's channels, are
// scalars broadcast to every lane. A group whose channel count is not a multiple of kLanes pads
// its last block with zero lanes (u = 0, δ = 0, A = 0: their states stay 0, they add nothing).
constexpr int64_t kLanes = 8;

// A thread's buffers, grown on demand and kept for the next call (LibTorch's pool keeps its
// threads). Every tile is in scan order: B and C (and the backward's dB, dC, decays and states)
// hold element (l, n) at l·N + n; the forward's per-lane tiles hold (l, w) at l·kLanes + w. The
// backward's per-position rows (dt, gate) are in memory order.
template <typename T>
struct Scratch {
  std::vector<T> B, C, u, dt, y, a, h, dB, dC, decay, H, dh, zeros, gate, delta, ddelta;
};
template <typename T>
Scratch<T>& thread_scratch() {
  thread_local Scratch<T> s;
  return s;
}
template <typename T>
T* take(std::vector<T>& v, int64_t n) {
  if (v.size() < size_t(n)) v.resize(size_t(n));
  return v.data();
}

// tile(l, n) = src[n, at(l)] for a (N, L) row-major block; and back.
template <typename T>
void to_tile(const T* src, T* tile, int64_t N, int64_t L, Walk at) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t l = 0; l < L; ++l) tile[l * N + n] = src[n * L + at(l)];
}
template <typename T>
void from_tile(const T* tile, T* dst, int64_t N, int64_t L, Walk at) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t l = 0; l < L; ++l) dst[n * L + at(l)] = tile[l * N + n];
}

// One block of channels [c0, c0 + width) of a (batch, group) task.
struct Channels {
  int64_t b, c0, width;
};

// tile(l, w) = row(c0 + w)[at(l)] for the block's lanes, 0 in the padding lanes.
template <typename T, typename Row>
void lanes_in(Row row, const Channels& ch, int64_t L, Walk at, T* tile) {
  for (int64_t w = 0; w < kLanes; ++w) {
    const T* src = w < ch.width ? row(ch.c0 + w) : nullptr;
    for (int64_t l = 0; l < L; ++l) tile[l * kLanes + w] = src ? src[at(l)] : T(0);
  }
}
// row(c0 + w)[at(l)] = tile(l, w) for the block's real lanes.
template <typename T, typename Row>
void lanes_out(const T* tile, const Channels& ch, int64_t L, Walk at, Row row) {
  for (int64_t w = 0; w < ch.width; ++w) {
    T* dst = row(ch.c0 + w);
    for (int64_t l = 0; l < L; ++l) dst[at(l)] = tile[l * kLanes + w];
  }
}

// Channel c's raw Δ row for batch b, in memory order: p.delta's row, or the projection
// Σ_r dt_w[c, r]·dt_in[b, g, r, ·] written into `row`.
template <typename P, typename T>
const T* delta_row(const P& p, int64_t b, int64_t c, T* row) {
  const int64_t L = p.length;
  if (!p.dt_in) return p.delta + (b * p.channels + c) * L;
  const int64_t g = c / p.channels_per_group(), R = p.dt_rank;
  const T* x = p.dt_in + (b * p.groups + g) * R * L;
  const T* w = p.dt_w + c * R;
  for (int64_t m = 0; m < L; ++m) row[m] = T(0);
  for (int64_t r = 0; r < R; ++r)
#pragma omp simd
    for (int64_t m = 0; m < L; ++m) row[m] += w[r] * x[r * L + m];
  return row;
}

// The block's per-channel inputs as lanes: A transposed to (n, w), D, and δ = softplus(Δ + bias)
// as an (l, w) tile; padding lanes get zeros. `row`: scratch of L for delta_row.
template <typename P, typename T>
void block_inputs(const P& p, const Channels& ch, Walk at, ExpK lim, T* a, T* d, T* dt, T* row) {
  const int64_t N = p.dstate, L = p.length;
  for (int64_t w = 0; w < kLanes; ++w) {
    const T* src = w < ch.width ? delta_row(p, ch.b, ch.c0 + w, row) : nullptr;
    for (int64_t l = 0; l < L; ++l) dt[l * kLanes + w] = src ? src[at(l)] : T(0);
  }
  T bias[kLanes];
  for (int64_t w = 0; w < kLanes; ++w) {
    const bool real = w < ch.width;
    bias[w] = real ? p.delta_bias[ch.c0 + w] : T(0);
    d[w] = real ? p.D[ch.c0 + w] : T(0);
    for (int64_t n = 0; n < N; ++n) a[n * kLanes + w] = real ? p.A[(ch.c0 + w) * N + n] : T(0);
  }
  for (int64_t l = 0; l < L; ++l) {
    T* row = dt + l * kLanes;
#pragma omp simd
    for (int64_t w = 0; w < kLanes; ++w) row[w] = softplus(row[w] + bias[w], lim);
    for (int64_t w = ch.width; w < kLanes; ++w) row[w] = T(0);
  }
}

// The network's state count: kernels for it are compiled with N fixed, so the state loops unroll.
constexpr int kFixedN = 16;

// A block's forward: y(l, w) = Σ_n C(l, n)·h(n, w) + D(w)·u(l, w), states in `h` (N × kLanes).
// kN > 0: N == kN, known at compile time; 0: N at run time.
template <int kN, typename T>
void forward_block(int64_t L, int64_t dstate, const T* __restrict Bt, const T* __restrict Ct,
                   const T* __restrict a, const T* __restrict d, const T* __restrict dt,
                   const T* __restrict u, ExpK lim, T* __restrict h, T* __restrict y) {
  const int64_t N = kN > 0 ? kN : dstate;
  for (int64_t i = 0; i < N * kLanes; ++i) h[i] = T(0);
  for (int64_t l = 0; l < L; ++l) {
    const T* __restrict dtl = dt + l * kLanes;
    const T* __restrict ul = u + l * kLanes;
    T x[kLanes], acc[kLanes];
#pragma omp simd
    for (int64_t w = 0; w < kLanes; ++w) {
      x[w] = dtl[w] * ul[w];
      acc[w] = T(0);
    }
    for (int64_t n = 0; n < N; ++n) {
      const T bn = Bt[l * N + n], cn = Ct[l * N + n];
      T* __restrict hn = h + n * kLanes;
      const T* __restrict an = a + n * kLanes;
#pragma omp simd
      for (int64_t w = 0; w < kLanes; ++w) {
        hn[w] = exp_of(dtl[w] * an[w], lim) * hn[w] + x[w] * bn;
        acc[w] += cn * hn[w];
      }
    }
    T* __restrict yl = y + l * kLanes;
#pragma omp simd
    for (int64_t w = 0; w < kLanes; ++w) yl[w] = acc[w] + d[w] * ul[w];
  }
}

// A (batch, group) task's position-major tiles: B and C, the dB and dC it accumulates, and one
// channel's decays and states; `zeros` stands in for the state before the first position and the
// decay after the last.
template <typename T>
struct Tiles {
  const T *B, *C, *zeros;
  T *dB, *dC, *decay, *H;
};

// One channel's backward: its forward again (keeping every decay and state), then the reverse
// sweep dh_l = dy_l·C_l + decay_{l+1}·dh_{l+1}. Writes du and ddelta, adds into the tiles' dB and
// dC, writes dA (N); returns (dD, dbias). `in`: u, dy, A's row, dt, gate (softplus'). kN as in
// forward_block; with kN = 0, dh lives in `dh_scratch` (N) and dA accumulates in place.
template <int kN, typename T>
std::pair<T, T> backward_channel(int64_t L, int64_t dstate, const Tiles<T>& t, const T* const* in,
                                 T d, Walk at, ExpK lim, T* du, T* ddelta, T* dA_out,
                                 T* dh_scratch) {
  const int64_t N = kN > 0 ? kN : dstate;
  const T *u = in[0], *dy = in[1], *__restrict a = in[2], *dt = in[3], *gate = in[4];
  const T* __restrict Bt = t.B, * __restrict Ct = t.C, *zeros = t.zeros;
  T* __restrict decay = t.decay, * __restrict H = t.H, * __restrict dBt = t.dB, * __restrict dCt = t.dC;
  for (int64_t l = 0; l < L; ++l) {
    const int64_t m = at(l);
    const T dtl = dt[m], x = dtl * u[m];
    const T* __restrict prev = l > 0 ? H + (l - 1) * N : zeros;
    const T* __restrict Bl = Bt + l * N;
    T* __restrict dec = decay + l * N;
    T* __restrict hl = H + l * N;
#pragma omp simd
    for (int64_t n = 0; n < N; ++n) {
      const T e = exp_of(dtl * a[n], lim);
      dec[n] = e;
      hl[n] = e * prev[n] + x * Bl[n];
    }
  }

  T dh_fixed[kN > 0 ? kN : 1], dA_fixed[kN > 0 ? kN : 1];
  T* __restrict dh = kN > 0 ? dh_fixed : dh_scratch;
  T* __restrict dA = kN > 0 ? dA_fixed : dA_out;
  for (int64_t n = 0; n < N; ++n) dh[n] = dA[n] = T(0);
  T dD = 0, dbias = 0;
  for (int64_t l = L - 1; l >= 0; --l) {
    const int64_t m = at(l);
    const T dyl = dy[m], ul = u[m], dtl = dt[m], xu = dtl * ul;
    const T* __restrict next = l + 1 < L ? decay + (l + 1) * N : zeros;
    const T* __restrict prev = l > 0 ? H + (l - 1) * N : zeros;
    const T* __restrict dec = decay + l * N;
    const T* __restrict hl = H + l * N;
    const T* __restrict Bl = Bt + l * N;
    const T* __restrict Cl = Ct + l * N;
    T* __restrict dBl = dBt + l * N;
    T* __restrict dCl = dCt + l * N;
    T sum_dhB = 0, sum_ddecay_a = 0;
#pragma omp simd reduction(+ : sum_dhB, sum_ddecay_a)
    for (int64_t n = 0; n < N; ++n) {
      const T dhn = dh[n] * next[n] + dyl * Cl[n];
      dh[n] = dhn;
      dCl[n] += dyl * hl[n];
      dBl[n] += dhn * xu;
      sum_dhB += dhn * Bl[n];
      const T ddecay = dhn * prev[n] * dec[n];  // ∂/∂(δ·a) through the decay
      sum_ddecay_a += ddecay * a[n];
      dA[n] += ddecay * dtl;
    }
    du[m] = dyl * d + dtl * sum_dhB;
    const T dd = (ul * sum_dhB + sum_ddecay_a) * gate[m];
    ddelta[m] = dd;
    dbias += dd;
    dD += dyl * ul;
  }
  if (kN > 0)
    for (int64_t n = 0; n < N; ++n) dA_out[n] = dA[n];
  return {dD, dbias};
}

// Channel c's dΔ row through the projection of delta_row: adds w[c, r]·dΔ into the task's
// d_dt_in rows (channels in order) and writes Σ_l dΔ·dt_in[b, g, r, l] to `d_w` (R).
template <typename P, typename T>
void project_ddelta_back(const P& p, int64_t bg, int64_t c, const T* dd, T* d_dt_in, T* d_w) {
  const int64_t L = p.length, R = p.dt_rank;
  const T* x = p.dt_in + bg * R * L;
  const T* w = p.dt_w + c * R;
  for (int64_t r = 0; r < R; ++r) {
    T* dx = d_dt_in + r * L;
    const T* xr = x + r * L;
    const T wr = w[r];
    T acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t m = 0; m < L; ++m) {
      dx[m] += wr * dd[m];
      acc += dd[m] * xr[m];
    }
    d_w[r] = acc;
  }
}

// Group g's channels from c0 on, as one block of at most kLanes.
template <typename P>
Channels block_from(const P& p, int64_t b, int64_t g, int64_t c0) {
  return {b, c0, std::min(kLanes, (g + 1) * p.channels_per_group() - c0)};
}

}  // namespace

template <typename T>
void scan_fwd(const SelectiveScanParams<T>& p) {
  const int64_t L = p.length, N = p.dstate, Cn = p.channels, G = p.groups;
  const int64_t per_group = p.channels_per_group();
  at::parallel_for(0, p.batch * G, 1, [&](int64_t begin, int64_t end) {
    Scratch<T>& s = thread_scratch<T>();
    const ExpK lim = exp_k();
    T* __restrict Bt = take(s.B, L * N);
    T* __restrict Ct = take(s.C, L * N);
    T *u = take(s.u, L * kLanes), *dt = take(s.dt, L * kLanes), *y = take(s.y, L * kLanes);
    T *a = take(s.a, N * kLanes), *h = take(s.h, N * kLanes), *row = take(s.delta, L);
    T d[kLanes];
    for (int64_t bg = begin; bg < end; ++bg) {
      const int64_t b = bg / G, g = bg % G;
      const Walk at = walk(p, g);
      to_tile(p.B + bg * N * L, Bt, N, L, at);
      to_tile(p.C + bg * N * L, Ct, N, L, at);
      for (int64_t c0 = g * per_group; c0 < (g + 1) * per_group; c0 += kLanes) {
        const Channels ch = block_from(p, b, g, c0);
        lanes_in<T>([&](int64_t c) { return p.u + p.u_row(b, c); }, ch, L, at, u);
        block_inputs(p, ch, at, lim, a, d, dt, row);
        if (N == kFixedN)
          forward_block<kFixedN>(L, N, Bt, Ct, a, d, dt, u, lim, h, y);
        else
          forward_block<0>(L, N, Bt, Ct, a, d, dt, u, lim, h, y);
        lanes_out(y, ch, L, at, [&](int64_t c) { return p.y + (b * Cn + c) * L; });
      }
    }
  });
}

template <typename T>
void scan_bwd(const SelectiveScanGradParams<T>& p) {
  const int64_t L = p.length, N = p.dstate, Cn = p.channels, G = p.groups;
  const int64_t per_group = p.channels_per_group();
  // dA, dD, dbias sum over the batch: each batch element writes its own slice, summed at the end
  // in a fixed order, so the result does not depend on thread scheduling.
  std::vector<T> dA_part(p.batch * Cn * N), dD_part(p.batch * Cn), dbias_part(p.batch * Cn);
  // With Δ projected: dt_w's gradient per batch element likewise; dt_in's is per task.
  const int64_t R = p.dt_in ? p.dt_rank : 0;
  std::vector<T> d_dt_w_part(p.batch * Cn * R);

  at::parallel_for(0, p.batch * G, 1, [&](int64_t begin, int64_t end) {
    Scratch<T>& s = thread_scratch<T>();
    const ExpK lim = exp_k();
    T* __restrict Bt = take(s.B, L * N);
    T* __restrict Ct = take(s.C, L * N);
    T* __restrict dBt = take(s.dB, L * N);
    T* __restrict dCt = take(s.dC, L * N);
    T* __restrict dh = take(s.dh, N);
    T* __restrict dt = take(s.dt, L);
    T* __restrict gate = take(s.gate, L);
    T* __restrict row = take(s.delta, L);
    T* __restrict dd_row = take(s.ddelta, L);
    T* zeros = take(s.zeros, N);
    for (int64_t n = 0; n < N; ++n) zeros[n] = T(0);
    const Tiles<T> tiles{Bt, Ct, zeros, dBt, dCt, take(s.decay, L * N), take(s.H, L * N)};

    for (int64_t bg = begin; bg < end; ++bg) {
      const int64_t b = bg / G, g = bg % G;
      const Walk at = walk(p, g);
      to_tile(p.B + bg * N * L, Bt, N, L, at);
      to_tile(p.C + bg * N * L, Ct, N, L, at);
      for (int64_t i = 0; i < L * N; ++i) dBt[i] = dCt[i] = T(0);
      T* d_dt_in = R > 0 ? p.d_dt_in + bg * R * L : nullptr;
      for (int64_t i = 0; i < R * L; ++i) d_dt_in[i] = T(0);

      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        const int64_t bc = b * Cn + c;
        const T* u = p.u + p.u_row(b, c);
        const T* delta = delta_row(p, b, c, row);
        const T* dy = p.dy + bc * L;
        const T* __restrict a = p.A + c * N;
        T* du = p.du + bc * L;
        T* ddelta = R > 0 ? dd_row : p.ddelta + bc * L;
        const T bias = p.delta_bias[c], d = p.D[c];

#pragma omp simd
        for (int64_t m = 0; m < L; ++m) {
          dt[m] = softplus(delta[m] + bias, lim);
          gate[m] = softplus_grad(delta[m] + bias, lim);
        }
        const T* args[] = {u, dy, a, dt, gate};
        const auto sums = N == kFixedN
                              ? backward_channel<kFixedN>(L, N, tiles, args, d, at, lim, du, ddelta,
                                                          dA_part.data() + bc * N, dh)
                              : backward_channel<0>(L, N, tiles, args, d, at, lim, du, ddelta,
                                                    dA_part.data() + bc * N, dh);
        dD_part[bc] = sums.first;
        dbias_part[bc] = sums.second;
        if (R > 0) project_ddelta_back(p, bg, c, ddelta, d_dt_in, d_dt_w_part.data() + bc * R);
      }
      from_tile(dBt, p.dB + bg * N * L, N, L, at);
      from_tile(dCt, p.dC + bg * N * L, N, L, at);
    }
  });

  sum_partials(dA_part.data(), p.batch, Cn * N, p.dA);
  sum_partials(dD_part.data(), p.batch, Cn, p.dD);
  sum_partials(dbias_part.data(), p.batch, Cn, p.ddelta_bias);
  if (R > 0) sum_partials(d_dt_w_part.data(), p.batch, Cn * R, p.d_dt_w);
}

template void scan_fwd<float>(const SelectiveScanParams<float>&);
template void scan_fwd<double>(const SelectiveScanParams<double>&);
template void scan_bwd<float>(const SelectiveScanGradParams<float>&);
template void scan_bwd<double>(const SelectiveScanGradParams<double>&);

}  // namespace vmunet::VMUNET_SCAN_ISA
