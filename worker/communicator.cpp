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
  bool any(bool flag) override { return flag; }
  std::string describe() const override { return "1 process"; }
};

}  // namespace

std::unique_ptr<Communicator> make_local_communicator() {
  return std::make_unique<LocalCommunicator>();
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
