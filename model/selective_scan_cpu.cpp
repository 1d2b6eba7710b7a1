// CPU kernels of the selective scan. One task is one (batch, group): its B and C tiles are
// transposed once into position-major scratch, so the state loop over n is contiguous and
// vectorises, and the channels of the group reuse them. The recurrence over positions is the only
// serial dependency. Scratch is thread-local and reused across calls; every reduction runs in a
// fixed order, so results do not depend on the thread count. Accumulation is in T (fp32 for float,
// as the reference kernel does).
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "model/selective_scan.h"

namespace vmunet {
namespace {

// exp in plain arithmetic, so a loop of it vectorises (libm's expf does not without
// -ffast-math): Cody–Waite reduction to r in [−ln2/2, ln2/2], Cephes' degree-6 polynomial
// (about 2 ulp), 2^k by exponent bits. Inputs are clamped to [−86, 88], where 2^k stays a normal
// number (no denormal slow paths; exp(−86) ≈ 4e−38 stands in for 0). Double stays on libm: the
// finite-difference checks run in double and want it exact.
inline float exp_of(float x) {
  x = x < -86.0f ? -86.0f : (x > 88.0f ? 88.0f : x);
  constexpr float kRound = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  const float shifted = x * 1.44269504088896341f + kRound;
  const float k = shifted - kRound;
  const float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // The low mantissa bits of `shifted` hold k.
  const int32_t bits = (__builtin_bit_cast(int32_t, shifted) - 0x4B400000 + 127) << 23;
  return p * __builtin_bit_cast(float, bits);
}
inline double exp_of(double x) { return std::exp(x); }

// softplus with the same threshold as mamba's kernel: linear above 20; its derivative, sigmoid.
template <typename T>
inline T softplus(T x) {
  return x <= T(20) ? std::log1p(std::exp(x)) : x;
}
template <typename T>
inline T softplus_grad(T x) {
  return x <= T(20) ? T(1) / (T(1) + exp_of(-x)) : T(1);
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

// A thread's buffers, grown on demand and kept for the next call (LibTorch's pool keeps its
// threads). Tiles are position-major: element (l, n) at l·N + n, l in scan order.
template <typename T>
struct Scratch {
  std::vector<T> B, C, dB, dC, decay, h, dh, dA, zeros, dt, gate;
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

}  // namespace

template <typename T>
void selective_scan_fwd_cpu(const SelectiveScanParams<T>& p) {
  const int64_t L = p.length, N = p.dstate, Cn = p.channels, G = p.groups;
  const int64_t per_group = p.channels_per_group();
  at::parallel_for(0, p.batch * G, 1, [&](int64_t begin, int64_t end) {
    Scratch<T>& s = thread_scratch<T>();
    T* __restrict Bt = take(s.B, L * N);
    T* __restrict Ct = take(s.C, L * N);
    T* __restrict h = take(s.h, N);
    for (int64_t bg = begin; bg < end; ++bg) {
      const int64_t b = bg / G, g = bg % G;
      const Walk at = walk(p, g);
      to_tile(p.B + bg * N * L, Bt, N, L, at);
      to_tile(p.C + bg * N * L, Ct, N, L, at);
      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        const int64_t bc = b * Cn + c;
        const T* u = p.u + p.u_row(b, c);
        const T* delta = p.delta + bc * L;
        const T* __restrict a = p.A + c * N;
        T* y = p.y + bc * L;
        const T bias = p.delta_bias[c], d = p.D[c];
        for (int64_t n = 0; n < N; ++n) h[n] = T(0);
        for (int64_t l = 0; l < L; ++l) {
          const int64_t m = at(l);
          const T dt = softplus(delta[m] + bias), x = dt * u[m];
          const T* __restrict Bl = Bt + l * N;
          const T* __restrict Cl = Ct + l * N;
          T acc = 0;
#pragma omp simd reduction(+ : acc)
          for (int64_t n = 0; n < N; ++n) {
            h[n] = exp_of(dt * a[n]) * h[n] + x * Bl[n];
            acc += Cl[n] * h[n];
          }
          y[m] = acc + d * u[m];
        }
      }
    }
  });
}

template <typename T>
void selective_scan_bwd_cpu(const SelectiveScanGradParams<T>& p) {
  const int64_t L = p.length, N = p.dstate, Cn = p.channels, G = p.groups;
  const int64_t per_group = p.channels_per_group();
  // dA, dD, dbias sum over the batch: each batch element writes its own slice, summed at the end
  // in a fixed order, so the result does not depend on thread scheduling.
  std::vector<T> dA_part(p.batch * Cn * N), dD_part(p.batch * Cn), dbias_part(p.batch * Cn);

  at::parallel_for(0, p.batch * G, 1, [&](int64_t begin, int64_t end) {
    Scratch<T>& s = thread_scratch<T>();
    T* __restrict Bt = take(s.B, L * N);
    T* __restrict Ct = take(s.C, L * N);
    T* __restrict dBt = take(s.dB, L * N);
    T* __restrict dCt = take(s.dC, L * N);
    T* __restrict decay = take(s.decay, L * N);
    T* __restrict H = take(s.h, L * N);
    T* __restrict dh = take(s.dh, N);
    T* __restrict dA = take(s.dA, N);
    T* __restrict dt = take(s.dt, L);
    T* __restrict gate = take(s.gate, L);
    // Stand-ins for the state before the first step and the decay after the last.
    T* zeros = take(s.zeros, N);
    for (int64_t n = 0; n < N; ++n) zeros[n] = T(0);

    for (int64_t bg = begin; bg < end; ++bg) {
      const int64_t b = bg / G, g = bg % G;
      const Walk at = walk(p, g);
      to_tile(p.B + bg * N * L, Bt, N, L, at);
      to_tile(p.C + bg * N * L, Ct, N, L, at);
      for (int64_t i = 0; i < L * N; ++i) dBt[i] = dCt[i] = T(0);

      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        const int64_t bc = b * Cn + c;
        const T* u = p.u + p.u_row(b, c);
        const T* delta = p.delta + bc * L;
        const T* dy = p.dy + bc * L;
        const T* __restrict a = p.A + c * N;
        T* du = p.du + bc * L;
        T* ddelta = p.ddelta + bc * L;
        const T bias = p.delta_bias[c], d = p.D[c];

        // Forward again, keeping every state and decay of this channel.
        for (int64_t l = 0; l < L; ++l) {
          const int64_t m = at(l);
          const T z = delta[m] + bias;
          dt[l] = softplus(z);
          gate[l] = softplus_grad(z);
          const T x = dt[l] * u[m];
          const T* __restrict prev = l > 0 ? H + (l - 1) * N : zeros;
          const T* __restrict Bl = Bt + l * N;
          T* __restrict dec = decay + l * N;
          T* __restrict hl = H + l * N;
#pragma omp simd
          for (int64_t n = 0; n < N; ++n) {
            dec[n] = exp_of(dt[l] * a[n]);
            hl[n] = dec[n] * prev[n] + x * Bl[n];
          }
        }

        // Reverse sweep: dh_l = dy_l·C_l + decay_{l+1}·dh_{l+1}.
        for (int64_t n = 0; n < N; ++n) dh[n] = dA[n] = T(0);
        T dD = 0, dbias = 0;
        for (int64_t l = L - 1; l >= 0; --l) {
          const int64_t m = at(l);
          const T dyl = dy[m], ul = u[m], dtl = dt[l], xu = dtl * ul;
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
          const T dd = (ul * sum_dhB + sum_ddecay_a) * gate[l];
          ddelta[m] = dd;
          dbias += dd;
          dD += dyl * ul;
        }
        for (int64_t n = 0; n < N; ++n) dA_part[bc * N + n] = dA[n];
        dD_part[bc] = dD;
        dbias_part[bc] = dbias;
      }
      from_tile(dBt, p.dB + bg * N * L, N, L, at);
      from_tile(dCt, p.dC + bg * N * L, N, L, at);
    }
  });

  for (int64_t i = 0; i < Cn * N; ++i) {
    T s = 0;
    for (int64_t b = 0; b < p.batch; ++b) s += dA_part[b * Cn * N + i];
    p.dA[i] = s;
  }
  for (int64_t c = 0; c < Cn; ++c) {
    T sd = 0, sb = 0;
    for (int64_t b = 0; b < p.batch; ++b) {
      sd += dD_part[b * Cn + c];
      sb += dbias_part[b * Cn + c];
    }
    p.dD[c] = sd;
    p.ddelta_bias[c] = sb;
  }
}

template void selective_scan_fwd_cpu<float>(const SelectiveScanParams<float>&);
template void selective_scan_fwd_cpu<double>(const SelectiveScanParams<double>&);
template void selective_scan_bwd_cpu<float>(const SelectiveScanGradParams<float>&);
template void selective_scan_bwd_cpu<double>(const SelectiveScanGradParams<double>&);

}  // namespace vmunet
