#include "worker/adamw_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <cmath>

namespace vmunet {
namespace {

template <typename T>
void update(T* p, const T* g, T* m, T* v, int64_t n, const AdamWCoefficients& c) {
  const double bc1 = 1 - std::pow(c.beta1, double(c.step));
  const double bc2 = 1 - std::pow(c.beta2, double(c.step));
  const T decay = T(1 - c.lr * c.weight_decay), b1 = T(c.beta1), b2 = T(c.beta2);
  const T one_minus_b1 = T(1 - c.beta1), one_minus_b2 = T(1 - c.beta2);
  const T sqrt_bc2 = T(std::sqrt(bc2)), eps = T(c.eps), step_size = T(c.lr / bc1);
  at::parallel_for(0, n, 32768, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const T gi = g[i];
      const T mi = b1 * m[i] + one_minus_b1 * gi;
      const T vi = b2 * v[i] + one_minus_b2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) / sqrt_bc2 + eps);
    }
  });
}

}  // namespace

void adamw_update_cpu(torch::Tensor& p, const torch::Tensor& g, torch::Tensor& m, torch::Tensor& v,
                      const AdamWCoefficients& c) {
  TORCH_CHECK(p.is_contiguous() && m.is_contiguous() && v.is_contiguous(),
              "adamw_update_cpu: parameter and state must be contiguous");
  const auto grad = g.contiguous();
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "adamw_update_cpu", [&] {
    update(p.data_ptr<scalar_t>(), grad.data_ptr<scalar_t>(), m.data_ptr<scalar_t>(),
           v.data_ptr<scalar_t>(), p.numel(), c);
  });
}

}  // namespace vmunet
