// A per-group matrix product over a batch, as SS2D's x_proj needs it: one weight per group (scan
// plane), shared by every batch element.
//
// torch::matmul broadcasts the weight: it copies it once per batch element, then runs a bmm of
// batch × groups small products. LibTorch's CPU bmm loops over them with a select and a GEMM call
// each: on the quickstart model that loop (with the Δ projection's, now inside the CPU scan) was
// a quarter of a CPU training step, so on the CPU the batch is folded into the columns instead,
// one GEMM per group, for two permuting copies. On CUDA each group is one strided-batched GEMM
// whose weight has batch stride 0: no copy of the weight (at 256² and batch 32 that copy was 5 to
// 40 µs per call on an H200, 0.28 ms of an fp32 inference pass), and the products written in
// place into the (B, G, M, L) output.
#pragma once

#include <torch/types.h>

#include <utility>

namespace vmunet {

// w (G, M, K), x (B, G, K, L) → (B, G, M, L): w[g] · x[b, g], in x's dtype on CUDA (w is cast
// to it, as autocast would). Differentiable.
torch::Tensor grouped_matmul(const torch::Tensor& w, const torch::Tensor& x);

// {grouped_matmul(w, x), x} for an x that has a second use (SS2D's planes feed x_proj and the
// scan). On CUDA the second output is x passed through one autograd node, whose backward adds its
// gradient inside the product's input-gradient GEMM (C = Wᵀ·dY + C): autograd would otherwise add
// the two gradients in a pass of its own, 0.14 ms a stage-1 block in fp32 on an H200. Elsewhere
// x itself.
std::pair<torch::Tensor, torch::Tensor> grouped_matmul_and_input(const torch::Tensor& w,
                                                                 const torch::Tensor& x);

}  // namespace vmunet
