#include "model/depthwise_conv_silu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/cpu_exp.h"
#include "model/cpu_partial_sums.h"

namespace vmunet {
namespace {

struct Geometry {
  int64_t B, H, W, C, k;
  int64_t pad() const { return k / 2; }
  int64_t padded_h() const { return H + k - 1; }
  int64_t padded_w() const { return W + k - 1; }
  int64_t plane() const { return padded_h() * padded_w(); }  // one channel's padded tile
};

// tile(c, i + pad, j + pad) = x[b, i, j, c]; the border stays zero.
template <typename T>
void padded_channels_first(const T* x, int64_t row_stride, int64_t col_stride, const Geometry& g,
                           T* tile) {
  std::fill(tile, tile + g.C * g.plane(), T(0));
  for (int64_t i = 0; i < g.H; ++i)
    for (int64_t j = 0; j < g.W; ++j) {
      const T* src = x + i * row_stride + j * col_stride;
      T* dst = tile + (i + g.pad()) * g.padded_w() + j + g.pad();
      for (int64_t c = 0; c < g.C; ++c) dst[c * g.plane()] = src[c];
    }
}

// z(c, i, j) = bias[c] + Σ_{di, dj} w[c, di, dj]·tile(c, i + di, j + dj).
template <typename T>
void stencil(const T* tile, const T* w, const T* bias, const Geometry& g, T* z) {
  for (int64_t c = 0; c < g.C; ++c) {
    const T* t = tile + c * g.plane();
    const T* wc = w + c * g.k * g.k;
    T* zc = z + c * g.H * g.W;
    for (int64_t i = 0; i < g.H; ++i) {
      T* zrow = zc + i * g.W;
      for (int64_t j = 0; j < g.W; ++j) zrow[j] = bias[c];
      for (int64_t di = 0; di < g.k; ++di)
        for (int64_t dj = 0; dj < g.k; ++dj) {
          const T wv = wc[di * g.k + dj];
          const T* trow = t + (i + di) * g.padded_w() + dj;
#pragma omp simd
          for (int64_t j = 0; j < g.W; ++j) zrow[j] += wv * trow[j];
        }
    }
  }
}

template <typename T>
T sigmoid(T z, ExpK lim) {
  return T(1) / (T(1) + exp_of(-z, lim));
}

template <typename T>
void conv_silu_forward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias,
                       const Geometry& g, torch::Tensor& y) {
  const T *xp = x.data_ptr<T>(), *wp = w.data_ptr<T>(), *bp = bias.data_ptr<T>();
  T* yp = y.data_ptr<T>();
  const int64_t sb = x.stride(0), si = x.stride(1), sj = x.stride(2);
  at::parallel_for(0, g.B, 1, [&](int64_t begin, int64_t end) {
    const ExpK lim = exp_k();
    std::vector<T> tile(g.C * g.plane());
    for (int64_t b = begin; b < end; ++b) {
      padded_channels_first(xp + b * sb, si, sj, g, tile.data());
      T* z = yp + b * g.C * g.H * g.W;
      stencil(tile.data(), wp, bp, g, z);
#pragma omp simd
      for (int64_t e = 0; e < g.C * g.H * g.W; ++e) z[e] = z[e] * sigmoid(z[e], lim);
    }
  });
}

// dx (B, H, W, C), dweight (C, 1, k, k), dbias (C) from dy (B, C, H, W).
template <typename T>
void conv_silu_backward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias,
                        const torch::Tensor& dy, const Geometry& g, torch::Tensor& dx,
                        torch::Tensor& dw, torch::Tensor& dbias) {
  const T *xp = x.data_ptr<T>(), *wp = w.data_ptr<T>(), *bp = bias.data_ptr<T>();
  const T* dyp = dy.data_ptr<T>();
  T* dxp = dx.data_ptr<T>();
  const int64_t sb = x.stride(0), si = x.stride(1), sj = x.stride(2), kk = g.k * g.k;
  const int64_t hw = g.H * g.W;
  // dx is the stencil of the flipped weights over dz (zero-padded), without bias.
  std::vector<T> flipped(g.C * kk), no_bias(g.C, T(0));
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t e = 0; e < kk; ++e) flipped[c * kk + e] = wp[c * kk + kk - 1 - e];
  std::vector<T> dw_part(g.B * g.C * kk), db_part(g.B * g.C);
  at::parallel_for(0, g.B, 1, [&](int64_t begin, int64_t end) {
    const ExpK lim = exp_k();
    std::vector<T> tile(g.C * g.plane()), dz(g.C * g.plane(), T(0)), z(g.C * hw), dxt(g.C * hw);
    for (int64_t b = begin; b < end; ++b) {
      padded_channels_first(xp + b * sb, si, sj, g, tile.data());
      stencil(tile.data(), wp, bp, g, z.data());  // the pre-activation, recomputed
      const T* dyb = dyp + b * g.C * hw;
      for (int64_t c = 0; c < g.C; ++c) {
        T db = 0;
        T* dwc = dw_part.data() + (b * g.C + c) * kk;
        const T* t = tile.data() + c * g.plane();
        for (int64_t e = 0; e < kk; ++e) dwc[e] = T(0);
        for (int64_t i = 0; i < g.H; ++i) {
          // dz = dy·SiLU'(z), into the interior of its padded tile (the border stays zero).
          T* dzrow = dz.data() + c * g.plane() + (i + g.pad()) * g.padded_w() + g.pad();
          const T* zrow = z.data() + c * hw + i * g.W;
          const T* dyrow = dyb + c * hw + i * g.W;
#pragma omp simd reduction(+ : db)
          for (int64_t j = 0; j < g.W; ++j) {
            const T s = sigmoid(zrow[j], lim);
            dzrow[j] = dyrow[j] * s * (T(1) + zrow[j] * (T(1) - s));
            db += dzrow[j];
          }
          for (int64_t di = 0; di < g.k; ++di)
            for (int64_t dj = 0; dj < g.k; ++dj) {
              const T* trow = t + (i + di) * g.padded_w() + dj;
              T acc = 0;
#pragma omp simd reduction(+ : acc)
              for (int64_t j = 0; j < g.W; ++j) acc += dzrow[j] * trow[j];
              dwc[di * g.k + dj] += acc;
            }
        }
        db_part[b * g.C + c] = db;
      }
      stencil(dz.data(), flipped.data(), no_bias.data(), g, dxt.data());
      T* dxb = dxp + b * hw * g.C;
      for (int64_t c = 0; c < g.C; ++c)
        for (int64_t e = 0; e < hw; ++e) dxb[e * g.C + c] = dxt[c * hw + e];
    }
  });
  sum_partials(dw_part.data(), g.B, g.C * kk, dw.data_ptr<T>());
  sum_partials(db_part.data(), g.B, g.C, dbias.data_ptr<T>());
}

Geometry geometry(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias) {
  TORCH_CHECK(x.is_cpu() && w.is_cpu() && bias.is_cpu(), "depthwise_conv_silu: CPU tensors only");
  TORCH_CHECK(x.dim() == 4 && x.stride(3) == 1,
              "depthwise_conv_silu: x must be (B, H, W, C) with C contiguous");
  const int64_t C = x.size(3), k = w.dim() == 4 ? w.size(2) : 0;
  TORCH_CHECK(w.dim() == 4 && w.size(0) == C && w.size(1) == 1 && w.size(3) == k && k % 2 == 1,
              "depthwise_conv_silu: weight must be (C, 1, k, k) with k odd");
  TORCH_CHECK(bias.dim() == 1 && bias.size(0) == C, "depthwise_conv_silu: bias must be (C)");
  TORCH_CHECK(w.scalar_type() == x.scalar_type() && bias.scalar_type() == x.scalar_type(),
              "depthwise_conv_silu: x, weight and bias must share a dtype");
  return {x.size(0), x.size(1), x.size(2), C, k};
}

class DepthwiseConvSiluFunction : public torch::autograd::Function<DepthwiseConvSiluFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    const Geometry g = geometry(x, weight, bias);
    const auto w = weight.contiguous(), b = bias.contiguous();
    auto y = torch::empty({g.B, g.C, g.H, g.W}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "depthwise_conv_silu",
                               [&] { conv_silu_forward<scalar_t>(x, w, b, g, y); });
    ctx->save_for_backward({x, w, b});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const Geometry g = geometry(s[0], s[1], s[2]);
    const auto dy = grads[0].contiguous();
    auto dx = torch::empty({g.B, g.H, g.W, g.C}, s[0].options());
    auto dw = torch::empty_like(s[1]), db = torch::empty_like(s[2]);
    AT_DISPATCH_FLOATING_TYPES(s[0].scalar_type(), "depthwise_conv_silu_backward", [&] {
      conv_silu_backward<scalar_t>(s[0], s[1], s[2], dy, g, dx, dw, db);
    });
    return {dx, dw, db};
  }
};

}  // namespace

torch::Tensor depthwise_conv_silu(const torch::Tensor& x, const torch::Tensor& weight,
                                  const torch::Tensor& bias) {
  const auto xc = x.stride(3) == 1 ? x : x.contiguous();
  return DepthwiseConvSiluFunction::apply(xc, weight, bias);
}

}  // namespace vmunet
