// The meaning of a ScanOrder spelled out with materialised copies: every channel gets its own
// row of u, reversed groups get flipped sequences, the plain scan runs, and the results are
// flipped back (and du summed over the groups sharing a slice). Tests compare the kernels'
// index arithmetic against it.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/selective_scan.h"

namespace vmunet::test {

// Flips the last (length) dimension of the groups marked in `reverse`, viewing t as (batch,
// groups, rows, length).
inline torch::Tensor flip_groups(const torch::Tensor& t, int64_t groups, unsigned reverse) {
  auto v = t.view({t.size(0), groups, -1, t.size(-1)});
  std::vector<torch::Tensor> parts;
  for (int64_t g = 0; g < groups; ++g) {
    auto part = v.select(1, g);
    parts.push_back((reverse >> g) & 1u ? part.flip(-1) : part);
  }
  return torch::stack(parts, 1).view(t.sizes());
}

// u (batch, channels / u_share, length) → one row per channel.
inline torch::Tensor u_rows(const torch::Tensor& u, int64_t groups, int64_t channels,
                            const ScanOrder& order) {
  const int64_t slices = groups / order.u_share, per_group = channels / groups;
  return u.view({u.size(0), slices, 1, per_group, u.size(-1)})
      .expand({u.size(0), slices, order.u_share, per_group, u.size(-1)})
      .reshape({u.size(0), channels, u.size(-1)});
}

struct OrderedScan {
  torch::Tensor y;
  std::vector<torch::Tensor> grads;  // u, delta, A, B, C, D, delta_bias
};

// in = {u, delta, A, B, C, D, delta_bias} with u shared as `order` says.
inline OrderedScan materialised_scan(const std::vector<torch::Tensor>& in, const torch::Tensor& dy,
                                     const ScanOrder& order) {
  const int64_t groups = in[3].size(1), channels = in[1].size(1);
  const unsigned rev = order.reverse;
  auto u = flip_groups(u_rows(in[0], groups, channels, order), groups, rev);
  auto delta = flip_groups(in[1], groups, rev);
  auto B = flip_groups(in[3], groups, rev), C = flip_groups(in[4], groups, rev);
  auto dy_f = flip_groups(dy, groups, rev);
  OrderedScan out;
  out.y = flip_groups(selective_scan_forward(u, delta, in[2], B, C, in[5], in[6]), groups, rev);
  auto g = selective_scan_backward(u, delta, in[2], B, C, in[5], in[6], dy_f);
  auto du = flip_groups(g[0], groups, rev);
  const int64_t per_group = channels / groups;
  out.grads = {du.view({du.size(0), groups / order.u_share, order.u_share, per_group, -1})
                   .sum(2)
                   .view(in[0].sizes()),
               flip_groups(g[1], groups, rev),
               g[2],
               flip_groups(g[3], groups, rev),
               flip_groups(g[4], groups, rev),
               g[5],
               g[6]};
  return out;
}

}  // namespace vmunet::test
