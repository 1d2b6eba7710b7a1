#include "worker/communicator.h"

#include <torch/torch.h>

namespace vmunet {
namespace {

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(torch::Tensor&) override {}
  void broadcast(torch::Tensor&, int) override {}
  void barrier() override {}
  std::string describe() const override { return "1 process"; }
};

}  // namespace

std::unique_ptr<Communicator> make_local_communicator() {
  return std::make_unique<LocalCommunicator>();
}

void all_reduce_gradients(const std::vector<torch::Tensor>& params, Communicator& comm,
                          double weight, size_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  if (comm.size() == 1) {
    if (weight != 1.0)
      for (auto& g : grads) g.mul_(weight);
    return;
  }
  size_t begin = 0;
  while (begin < grads.size()) {
    size_t end = begin, bytes = 0;
    while (end < grads.size() && (end == begin || bytes + grads[end].nbytes() <= bucket_bytes))
      bytes += grads[end++].nbytes();
    std::vector<torch::Tensor> flat;
    for (size_t i = begin; i < end; ++i) flat.push_back(grads[i].reshape({-1}));
    auto bucket = torch::cat(flat).mul_(weight);
    comm.all_reduce_sum(bucket);
    int64_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      const int64_t n = grads[i].numel();
      grads[i].copy_(bucket.narrow(0, offset, n).view_as(grads[i]));
      offset += n;
    }
    begin = end;
  }
}

void broadcast_tensors(const std::vector<torch::Tensor>& tensors, Communicator& comm) {
  if (comm.size() == 1) return;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    auto buf = t.detach().contiguous().clone();
    comm.broadcast(buf, 0);
    t.detach().copy_(buf);
  }
}

}  // namespace vmunet
