// What the selective-scan autograd operators (selective_scan.cpp, selective_scan_dt.cpp) share:
// the ScanOrder carried through the autograd context (Function::apply takes it as two integers),
// and when their forward keeps the tile states for the backward.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <initializer_list>

#include "model/scan_order.h"

namespace vmunet::scan_autograd {

inline ScanOrder order_of(int64_t u_share, int64_t reverse) {
  return ScanOrder{int(u_share), unsigned(reverse)};
}

inline void save_order(torch::autograd::AutogradContext* ctx, const ScanOrder& order) {
  ctx->saved_data["u_share"] = int64_t(order.u_share);
  ctx->saved_data["reverse"] = int64_t(order.reverse);
}

inline ScanOrder saved_order(torch::autograd::AutogradContext* ctx) {
  return order_of(ctx->saved_data["u_share"].toInt(), ctx->saved_data["reverse"].toInt());
}

// Whether any input requires a gradient: only then is a backward pass coming that wants the
// forward's tile states.
inline bool any_requires_grad(std::initializer_list<torch::Tensor> inputs) {
  for (const auto& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}

}  // namespace vmunet::scan_autograd
