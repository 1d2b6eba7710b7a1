// Activation recomputation: a function's graph is dropped after its forward pass and rebuilt in
// the backward pass, trading a second forward for the memory of the activations it would save.
// LibTorch C++ has no torch.utils.checkpoint; this is its reentrant form for one-input functions.
#pragma once

#include <torch/types.h>

#include <functional>

namespace vmunet {

using TensorFn = std::function<torch::Tensor(const torch::Tensor&)>;

// fn(x), keeping only x for the backward pass. There fn runs again on x with grad mode on, from
// the random-number state of x's device and the autocast settings of the first run, so it draws
// and computes the same values; its gradient is backpropagated inside this node's backward: x's
// gradient is this node's result, and the tensors fn closes over (parameters) accumulate theirs
// in .grad there, each hook firing once, as without recomputation. Gradients are bit-identical
// to those of fn(x) when fn's ops are deterministic. Plain fn(x) when grad mode is off or x needs
// no gradient. The graph is backpropagated once (no retain_graph, no double backward); fn must
// stay callable until then.
torch::Tensor recomputed(const TensorFn& fn, const torch::Tensor& x);

}  // namespace vmunet
