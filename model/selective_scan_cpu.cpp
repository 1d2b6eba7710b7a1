// CPU kernels of the selective scan. Loops run state-outer, time-inner so every array is read
// sequentially; the recurrence over time is the only serial dependency. Accumulation is in T
// (fp32 for float, as the reference kernel does).
#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#include "model/selective_scan.h"

namespace vmunet {
namespace {

// softplus with the same threshold as mamba's kernel: linear above 20.
template <typename T>
inline T softplus(T x) {
  return x <= T(20) ? std::log1p(std::exp(x)) : x;
}
template <typename T>
inline T softplus_grad(T x) {
  return x <= T(20) ? T(1) / (T(1) + std::exp(-x)) : T(1);
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

}  // namespace

template <typename T>
void selective_scan_fwd_cpu(const SelectiveScanParams<T>& p) {
  const int64_t L = p.length, N = p.dstate, Cn = p.channels, per_group = p.channels_per_group();
  at::parallel_for(0, p.batch * Cn, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> dt(L);
    for (int64_t bc = begin; bc < end; ++bc) {
      const int64_t b = bc / Cn, c = bc % Cn, g = c / per_group;
      const Walk at = walk(p, g);
      const T* u = p.u + p.u_row(b, c);
      const T* delta = p.delta + bc * L;
      T* y = p.y + bc * L;
      const T bias = p.delta_bias[c], d = p.D[c];
      for (int64_t l = 0; l < L; ++l) {
        dt[l] = softplus(delta[at(l)] + bias);
        y[at(l)] = d * u[at(l)];
      }
      for (int64_t n = 0; n < N; ++n) {
        const T a = p.A[c * N + n];
        const T* Bp = p.B + ((b * p.groups + g) * N + n) * L;
        const T* Cp = p.C + ((b * p.groups + g) * N + n) * L;
        T h = 0;
        for (int64_t l = 0; l < L; ++l) {
          const int64_t m = at(l);
          h = std::exp(dt[l] * a) * h + dt[l] * Bp[m] * u[m];
          y[m] += Cp[m] * h;
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
  std::vector<T> dA_part(p.batch * Cn * N, T(0)), dD_part(p.batch * Cn, T(0)),
      dbias_part(p.batch * Cn, T(0));

  at::parallel_for(0, p.batch * G, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> dt(L), dsp(L), ddt(L), decay(L), h(L);
    for (int64_t bg = begin; bg < end; ++bg) {
      const int64_t b = bg / G, g = bg % G;
      const Walk at = walk(p, g);
      T* dB_group = p.dB + bg * N * L;
      T* dC_group = p.dC + bg * N * L;
      for (int64_t i = 0; i < N * L; ++i) dB_group[i] = dC_group[i] = T(0);

      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        const int64_t bc = b * Cn + c;
        const T* u = p.u + p.u_row(b, c);
        const T* delta = p.delta + bc * L;
        const T* dy = p.dy + bc * L;
        T* du = p.du + bc * L;
        const T bias = p.delta_bias[c], d = p.D[c];
        T dD = 0;
        for (int64_t l = 0; l < L; ++l) {
          const int64_t m = at(l);
          const T z = delta[m] + bias;
          dt[l] = softplus(z);
          dsp[l] = softplus_grad(z);
          ddt[l] = 0;
          du[m] = dy[m] * d;
          dD += dy[m] * u[m];
        }
        for (int64_t n = 0; n < N; ++n) {
          const T a = p.A[c * N + n];
          const T* Bp = p.B + (bg * N + n) * L;
          const T* Cp = p.C + (bg * N + n) * L;
          T* dBp = dB_group + n * L;
          T* dCp = dC_group + n * L;
          T state = 0;
          for (int64_t l = 0; l < L; ++l) {
            decay[l] = std::exp(dt[l] * a);
            state = decay[l] * state + dt[l] * Bp[at(l)] * u[at(l)];
            h[l] = state;
          }
          // Reverse sweep: dh_l = dy_l·C_l + decay_{l+1}·dh_{l+1}.
          T dh = 0, dA = 0;
          for (int64_t l = L - 1; l >= 0; --l) {
            const int64_t m = at(l);
            dh = dh * (l + 1 < L ? decay[l + 1] : T(0)) + dy[m] * Cp[m];
            dCp[m] += dy[m] * h[l];
            const T h_prev = l > 0 ? h[l - 1] : T(0);
            dBp[m] += dh * dt[l] * u[m];
            du[m] += dh * dt[l] * Bp[m];
            const T dh_decay = dh * h_prev * decay[l];
            ddt[l] += dh * Bp[m] * u[m] + dh_decay * a;
            dA += dh_decay * dt[l];
          }
          dA_part[bc * N + n] = dA;
        }
        T dbias = 0;
        for (int64_t l = 0; l < L; ++l) {
          const T dd = ddt[l] * dsp[l];
          p.ddelta[bc * L + at(l)] = dd;
          dbias += dd;
        }
        dD_part[bc] = dD;
        dbias_part[bc] = dbias;
      }
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
