// The choices a run config makes between named alternatives, kept free of LibTorch so that code
// reading run configs (sweep/) builds without it.
#pragma once

namespace vmunet {

// fp32: strict fp32 matrix products (the paper's setting); tf32: TF32 tensor cores allowed;
// bf16: bf16 autocast for linear layers and convolutions (worker/autocast.h), CUDA only.
enum class Precision { fp32, tf32, bf16 };

enum class RotationMode {
  per_sample,   // a new angle for every sample (ours)
  fixed_angle,  // one angle for the whole run, applied with probability `rotate` (official)
};

enum class Interpolation { bilinear, nearest };

// train.cuda_graph: capture the training step in a CUDA graph where the run allows it (auto),
// insist on it (on: an error where it cannot), or never (off). worker/cuda_graphs.h.
enum class CudaGraph { automatic, on, off };

// eval.select: which test evaluation a run reports (worker/eval_select.h).
enum class EvalSelect { last, min_test_loss };

}  // namespace vmunet
