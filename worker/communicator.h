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
  // In-place copy of `root`'s tensor to every rank.
  virtual void broadcast(torch::Tensor& t, int root) = 0;
  virtual void barrier() = 0;
  virtual std::string describe() const = 0;
};

// One process: every collective is the identity.
std::unique_ptr<Communicator> make_local_communicator();

// Sums the gradients of `params` over ranks in flattened buckets of at most `bucket_bytes`, scaling
// each rank's contribution by `weight` first (its share of the global batch, so that the sum is
// the gradient of the global-batch mean). Parameters without a gradient contribute zeros.
void all_reduce_gradients(const std::vector<torch::Tensor>& params, Communicator& comm,
                          double weight, size_t bucket_bytes = 25u << 20);

// Rank 0's values of every tensor copied to all ranks (initial weights).
void broadcast_tensors(const std::vector<torch::Tensor>& tensors, Communicator& comm);

}  // namespace vmunet
