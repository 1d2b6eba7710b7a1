#include "worker/mpi_communicator.h"

#include <mpi.h>
#include <torch/torch.h>

#include <cstdlib>
#include <vector>

#include "common/error.h"
#include "common/mpi_check.h"
#include "worker/device.h"
#ifdef VMUNET_NCCL
#include "worker/nccl_communicator.h"
#endif

namespace vmunet {
namespace {

MPI_Datatype mpi_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat:
      return MPI_FLOAT;
    case torch::kDouble:
      return MPI_DOUBLE;
    case torch::kLong:
      return MPI_INT64_T;
    default:
      throw Error(std::string("MPI collective: unsupported dtype ") +
                  c10::toString(t.scalar_type()));
  }
}

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm) : comm_(comm) {
    VMUNET_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
    VMUNET_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(torch::Tensor& t) override {
    auto host = t.is_cpu() ? t.contiguous() : t.to(torch::kCPU).contiguous();
    VMUNET_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, host.data_ptr(), static_cast<int>(host.numel()),
                                   mpi_type(host), MPI_SUM, comm_));
    if (!t.is_cpu() || !t.is_contiguous()) t.copy_(host);
  }

  void broadcast(torch::Tensor& t, int root) override {
    auto host = t.is_cpu() ? t.contiguous() : t.to(torch::kCPU).contiguous();
    VMUNET_MPI_CHECK(
        MPI_Bcast(host.data_ptr(), static_cast<int>(host.numel()), mpi_type(host), root, comm_));
    if (!t.is_cpu() || !t.is_contiguous()) t.copy_(host);
  }

  // CPU tensors only (the gradients of CPU ranks); anything else takes the blocking path.
  void start_all_reduce_sum(torch::Tensor& t) override {
    if (!t.is_cpu() || !t.is_contiguous()) return all_reduce_sum(t);
    started_.emplace_back();
    VMUNET_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()),
                                    mpi_type(t), MPI_SUM, comm_, &started_.back()));
  }

  void finish_started() override {
    if (started_.empty()) return;
    VMUNET_MPI_CHECK(
        MPI_Waitall(static_cast<int>(started_.size()), started_.data(), MPI_STATUSES_IGNORE));
    started_.clear();
  }

  void barrier() override { VMUNET_MPI_CHECK(MPI_Barrier(comm_)); }

  bool any(bool flag) override {
    int value = flag ? 1 : 0;
    VMUNET_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_LOR, comm_));
    return value != 0;
  }

  std::string describe() const override {
    return "MPI rank " + std::to_string(rank_) + " of " + std::to_string(size_);
  }

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::vector<MPI_Request> started_;
};

int g_thread_level = -1, g_node_rank = -1;  // set by MpiSession

bool mpi_running() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  VMUNET_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &g_thread_level));
  // Collective, so made here where every rank takes part, not when a rank asks for its GPU.
  MPI_Comm node;
  VMUNET_MPI_CHECK(
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  VMUNET_MPI_CHECK(MPI_Comm_rank(node, &g_node_rank));
  VMUNET_MPI_CHECK(MPI_Comm_free(&node));
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiSession::abort_all(int code) {
  if (mpi_running()) MPI_Abort(MPI_COMM_WORLD, code);
}

int MpiSession::thread_level() { return g_thread_level; }
int MpiSession::node_rank() { return g_node_rank; }

int MpiSession::world_rank() {
  int rank = 0;
  if (mpi_running()) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int MpiSession::world_size() {
  int size = 1;
  if (mpi_running()) MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm comm) {
  return std::make_unique<MpiCommunicator>(comm);
}

std::unique_ptr<Communicator> make_group_communicator(MPI_Comm comm, const torch::Device& device) {
#ifdef VMUNET_NCCL
  if (device.is_cuda()) return make_nccl_communicator(comm, device.index());
#else
  (void)device;
#endif
  return make_mpi_communicator(comm);
}

std::unique_ptr<Communicator> make_world_communicator(const std::string& device) {
  return make_group_communicator(MPI_COMM_WORLD, choose_device(device, local_rank()));
}

}  // namespace vmunet
