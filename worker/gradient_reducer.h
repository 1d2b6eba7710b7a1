// Data parallel gradient sums that overlap the backward pass: gradients are copied into flat
// buckets as autograd produces them, and each bucket's all-reduce starts as soon as its last
// gradient has arrived, while autograd goes on with earlier layers.
#pragma once

#include <torch/types.h>

#include <vector>

#include "worker/communicator.h"

namespace vmunet {

class GradientReducer {
 public:
  // Buckets of at most `bucket_bytes` (one tensor may exceed it alone) over `params` taken last
  // to first, the order in which backward produces their gradients. `params` must outlive the
  // reducer; they share one dtype and device. Those that do not require grad are ignored.
  GradientReducer(std::vector<torch::Tensor> params, Communicator& comm,
                  size_t bucket_bytes = 25u << 20);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Before backward: clears every gradient and scales this rank's contribution by `weight` (its
  // share of the global batch, so that the sum is the gradient of the global-batch mean).
  void prepare(double weight);
  // After backward: starts what is left (parameters that got no gradient contribute zeros), waits
  // for the sums and leaves every parameter's .grad holding the sum over ranks.
  void finish();

 private:
  struct Slot {
    size_t bucket;
    int64_t offset;
  };
  struct Bucket {
    torch::Tensor flat;
    std::vector<size_t> params;
    size_t missing = 0;  // gradients not yet arrived this step
  };

  void arrived(size_t param, const torch::Tensor& grad);
  void start_ready();
  void start(Bucket& bucket);
  torch::Tensor slot_view(size_t param);

  std::vector<torch::Tensor> params_;
  Communicator& comm_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<bool> has_grad_;
  std::vector<unsigned> hooks_;
  size_t next_start_ = 0;  // buckets start in index order, the same on every rank
  double weight_ = 1.0;
};

}  // namespace vmunet
