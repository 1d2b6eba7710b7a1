// SS2D's four-direction scan the way the official code does it, for checking selective_scan_2d:
// each direction's sequences materialised with stack / flip / transpose, the flat selective_scan
// on them, and the outputs flipped and transposed back and summed. Differentiable by autograd.
#pragma once

#include <torch/torch.h>

#include "model/selective_scan.h"

namespace vmunet::test {

// Arguments as selective_scan_2d's: u (batch, D, H, W); delta (batch, 4D, H·W), B and C
// (batch, 4, N, H·W) in position order. Returns (batch, D, H, W).
inline torch::Tensor flat_scan_2d(const torch::Tensor& u, const torch::Tensor& delta,
                                  const torch::Tensor& A, const torch::Tensor& B,
                                  const torch::Tensor& C, const torch::Tensor& D,
                                  const torch::Tensor& delta_bias) {
  const int64_t batch = u.size(0), Ch = u.size(1), H = u.size(2), W = u.size(3), L = H * W;
  // A (batch, X, L) row-major tensor read column-major, and back.
  auto to_col = [&](const torch::Tensor& t) {
    return t.reshape({batch, -1, H, W}).transpose(2, 3).reshape({batch, -1, L});
  };
  auto from_col = [&](const torch::Tensor& t) {
    return t.reshape({batch, -1, W, H}).transpose(2, 3).reshape({batch, -1, L});
  };
  // (batch, 4, X, L) in position order -> each direction's step order.
  auto to_steps = [&](const torch::Tensor& t) {
    return torch::stack({t.select(1, 0), to_col(t.select(1, 1)), t.select(1, 2).flip(-1),
                         to_col(t.select(1, 3)).flip(-1)},
                        1);
  };
  auto row = u.reshape({batch, Ch, L});
  auto xs = torch::stack({row, to_col(row), row.flip(-1), to_col(row).flip(-1)}, 1);
  auto y = selective_scan(xs.reshape({batch, 4 * Ch, L}),
                          to_steps(delta.reshape({batch, 4, Ch, L})).reshape({batch, 4 * Ch, L}), A,
                          to_steps(B).contiguous(), to_steps(C).contiguous(), D, delta_bias)
               .view({batch, 4, Ch, L});
  auto out = y.select(1, 0) + y.select(1, 2).flip(-1) + from_col(y.select(1, 1)) +
             from_col(y.select(1, 3).flip(-1));
  return out.view({batch, Ch, H, W});
}

}  // namespace vmunet::test
