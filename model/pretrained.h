// Pretrained initialisation (Table III): a VMamba classification checkpoint loaded into VM-UNet in
// the official code's two passes. Pass 1 loads every key by name (patch_embed.*, layers.i.*, ...);
// pass 2 maps layers.i.* -> layers_up.(S-1-i).* (S stages) so the decoder starts from the encoder
// stage of the same width. Keys whose name or shape does not match are skipped, never fatal.
#pragma once

#include <string>

#include "model/safetensors.h"
#include "model/vmunet.h"
#include "model/weights.h"

namespace vmunet {

struct PretrainedReport {
  int64_t checkpoint_keys = 0;
  LoadReport by_name;  // pass 1; unexpected + mismatched = the keys it skipped
  LoadReport decoder;  // pass 2, under the mapped layers_up.* names; only layers.i.* keys
  // Every skipped checkpoint key with its pass and reason, e.g.
  // "decoder: layers.0.blocks.1.ln_1.weight -> layers_up.3.blocks.1.ln_1.weight: not in the model".
  std::vector<std::string> skipped;

  // One line: checkpoint keys, then loaded and skipped per pass.
  std::string summary() const;
};

// The checkpoint's tensors: a .safetensors file (flat names), or a .pth that LibTorch's unpickler
// reads (a state dict, or one under the key 'model'). An unreadable .pth throws one line giving
// the Python command that converts it to safetensors.
TensorMap read_checkpoint(const std::string& path);

// The two passes over tensors in memory.
PretrainedReport load_pretrained(VMUNet& net, const TensorMap& checkpoint);

// read_checkpoint + the two passes. Logs nothing (under MPI only the caller knows which rank
// speaks): log summary() and the lines of `skipped`.
PretrainedReport load_pretrained(VMUNet& net, const std::string& path);

}  // namespace vmunet
