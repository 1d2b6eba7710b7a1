// bf16 mixed precision for the network's forward pass on CUDA: linear layers and convolutions run
// in bf16 while LayerNorm, softmax and the selective scan's state stay in fp32 (the scan reads bf16
// inputs and accumulates in fp32). The loss is computed outside, on fp32 logits.
#pragma once

namespace vmunet {

// Enables CUDA autocast to bf16 for its lifetime when `enabled`; restores the previous state.
class Bf16Autocast {
 public:
  explicit Bf16Autocast(bool enabled);
  ~Bf16Autocast();
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool enabled_, previous_ = false;
};

}  // namespace vmunet
