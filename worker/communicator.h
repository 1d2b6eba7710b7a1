// Collective operations between the ranks that train one run together. The trainer sees only this
// interface: a single process uses the local one, CPU ranks the MPI one, GPU ranks NCCL.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace vmunet {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In-place sum over ranks of a contiguous float, double or int64 tensor.
  virtual void all_reduce_sum(torch::Tensor& t) = 0;
  // Starts an in-place sum over ranks of a contiguous tensor and may return before it is done: t
  // must stay alive and untouched until finish_started(). Every rank starts its sums in the same
  // order. The default runs the blocking sum.
  virtual void start_all_reduce_sum(torch::Tensor& t) { all_reduce_sum(t); }
  // Completes every started sum. On GPUs the host does not wait: work queued afterwards on the
  // current stream sees the results.
  virtual void finish_started() {}
  // In-place copy of `root`'s tensor to every rank.
  virtual void broadcast(torch::Tensor& t, int root) = 0;
  virtual void barrier() = 0;
  // Whether `flag` is set on any rank (every rank passes its own and all get the same answer).
  // Agreed on the host, without waiting for the device, so it is cheap at every training step.
  virtual bool any(bool flag) = 0;
  virtual std::string describe() const = 0;
};

// One process: every collective is the identity.
std::unique_ptr<Communicator> make_local_communicator();

// Rank 0's values of every tensor copied to all ranks (initial weights).
void broadcast_tensors(const std::vector<torch::Tensor>& tensors, Communicator& comm);

}  // namespace vmunet
