// The CPU LayerNorm behind layer_norm.h (declared in layer_norm_kernels.h): one pass over each row
// forward and one backward, the gate's SiLU included. LibTorch's CPU LayerNorm, followed by the
// gate's silu and product, was about a tenth of a quickstart step on rows of 16 to 256 channels.
// The weight and bias gradients are summed per block of kRowBlock rows, then over the blocks in
// order: the same result whatever the thread count.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "model/cpu_exp.h"
#include "model/cpu_partial_sums.h"
#include "model/layer_norm_kernels.h"

namespace vmunet {
namespace {

constexpr int64_t kRowBlock = 64;

struct Rows {
  int64_t rows, C, z_stride;
  const float *x, *z, *w, *b;
};

// w and b contiguous, kept alive by the caller.
Rows rows_of(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& w,
             const torch::Tensor& b) {
  return {x.size(0),
          x.size(1),
          z.defined() ? z.stride(0) : 0,
          x.data_ptr<float>(),
          z.defined() ? z.data_ptr<float>() : nullptr,
          w.data_ptr<float>(),
          b.data_ptr<float>()};
}

inline float sigmoid(float v, ExpK lim) { return 1.0f / (1.0f + exp_of(-v, lim)); }

}  // namespace

LayerNormForward layer_norm_fwd_cpu(const torch::Tensor& x, const torch::Tensor& z,
                                    const torch::Tensor& weight, const torch::Tensor& bias,
                                    double eps) {
  const auto w = weight.contiguous(), b = bias.contiguous();
  const Rows r = rows_of(x, z, w, b);
  const auto f32 = x.options();
  LayerNormForward f{torch::empty({r.rows, r.C}, f32), torch::empty({r.rows}, f32),
                     torch::empty({r.rows}, f32)};
  float *out = f.out.data_ptr<float>(), *mean = f.mean.data_ptr<float>();
  float* rstd = f.rstd.data_ptr<float>();
  const float e = float(eps);
  at::parallel_for(0, r.rows, kRowBlock, [&](int64_t begin, int64_t end) {
    const ExpK lim = exp_k();
    for (int64_t i = begin; i < end; ++i) {
      const float* xi = r.x + i * r.C;
      float sum = 0, sq = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t c = 0; c < r.C; ++c) sum += xi[c];
      const float m = sum / float(r.C);
#pragma omp simd reduction(+ : sq)
      for (int64_t c = 0; c < r.C; ++c) sq += (xi[c] - m) * (xi[c] - m);
      const float rs = 1.0f / std::sqrt(sq / float(r.C) + e);
      mean[i] = m;
      rstd[i] = rs;
      float* oi = out + i * r.C;
#pragma omp simd
      for (int64_t c = 0; c < r.C; ++c) oi[c] = (xi[c] - m) * rs * r.w[c] + r.b[c];
      if (r.z) {
        const float* zi = r.z + i * r.z_stride;
#pragma omp simd
        for (int64_t c = 0; c < r.C; ++c) oi[c] *= zi[c] * sigmoid(zi[c], lim);
      }
    }
  });
  return f;
}

std::vector<torch::Tensor> layer_norm_bwd_cpu(const torch::Tensor& dout_in, const torch::Tensor& x,
                                              const torch::Tensor& mean_t,
                                              const torch::Tensor& rstd_t, const torch::Tensor& z,
                                              const torch::Tensor& weight,
                                              const torch::Tensor& bias) {
  const auto w = weight.contiguous(), b = bias.contiguous();
  const auto dout = dout_in.to(torch::kFloat).contiguous();
  const Rows r = rows_of(x, z, w, b);
  const auto f32 = x.options();
  auto dx = torch::empty({r.rows, r.C}, f32);
  auto dz = z.defined() ? torch::empty({r.rows, r.C}, f32) : torch::Tensor();
  const int64_t blocks = (r.rows + kRowBlock - 1) / kRowBlock;
  std::vector<float> dw_part(blocks * r.C), db_part(blocks * r.C);
  const float *go = dout.data_ptr<float>(), *mean = mean_t.data_ptr<float>();
  const float* rstd = rstd_t.data_ptr<float>();
  float *gx = dx.data_ptr<float>(), *gz = z.defined() ? dz.data_ptr<float>() : nullptr;
  at::parallel_for(0, blocks, 1, [&](int64_t block_begin, int64_t block_end) {
    const ExpK lim = exp_k();
    std::vector<float> xhat(r.C), dy(r.C);
    for (int64_t blk = block_begin; blk < block_end; ++blk) {
      float *dw = dw_part.data() + blk * r.C, *db = db_part.data() + blk * r.C;
      for (int64_t c = 0; c < r.C; ++c) dw[c] = db[c] = 0;
      for (int64_t i = blk * kRowBlock; i < std::min(r.rows, (blk + 1) * kRowBlock); ++i) {
        const float *xi = r.x + i * r.C, *gi = go + i * r.C;
        const float m = mean[i], rs = rstd[i];
#pragma omp simd
        for (int64_t c = 0; c < r.C; ++c) xhat[c] = (xi[c] - m) * rs;
        if (r.z) {
          // out = y·silu(z): dy = dout·silu(z), dz = dout·y·silu'(z).
          const float* zi = r.z + i * r.z_stride;
          float* gzi = gz + i * r.C;
#pragma omp simd
          for (int64_t c = 0; c < r.C; ++c) {
            const float s = sigmoid(zi[c], lim), y = xhat[c] * r.w[c] + r.b[c];
            dy[c] = gi[c] * zi[c] * s;
            gzi[c] = gi[c] * y * s * (1.0f + zi[c] * (1.0f - s));
          }
        } else {
          for (int64_t c = 0; c < r.C; ++c) dy[c] = gi[c];
        }
        float s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
        for (int64_t c = 0; c < r.C; ++c) {
          const float d = dy[c] * r.w[c];
          s1 += d;
          s2 += d * xhat[c];
          dw[c] += dy[c] * xhat[c];
          db[c] += dy[c];
        }
        const float m1 = s1 / float(r.C), m2 = s2 / float(r.C);
        float* gxi = gx + i * r.C;
#pragma omp simd
        for (int64_t c = 0; c < r.C; ++c) gxi[c] = rs * (dy[c] * r.w[c] - m1 - xhat[c] * m2);
      }
    }
  });
  auto dweight = torch::empty({r.C}, f32), dbias = torch::empty({r.C}, f32);
  sum_partials(dw_part.data(), blocks, r.C, dweight.data_ptr<float>());
  sum_partials(db_part.data(), blocks, r.C, dbias.data_ptr<float>());
  return {dx, dz, dweight, dbias};
}

}  // namespace vmunet
