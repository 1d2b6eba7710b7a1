#include "worker/nccl_communicator.h"

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <mpi.h>
#include <nccl.h>
#include <torch/torch.h>

#include <optional>

#include "common/error.h"
#include "worker/mpi_communicator.h"

#define VMUNET_NCCL_CHECK(call, action)                                                    \
  do {                                                                                     \
    const ncclResult_t rc_ = (call);                                                       \
    if (rc_ != ncclSuccess)                                                                \
      ::vmunet::fail_at(__FILE__, __LINE__,                                                \
                        std::string("NCCL ") + (action) + ": " + ncclGetErrorString(rc_)); \
  } while (0)

namespace vmunet {
namespace {

ncclDataType_t nccl_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat:
      return ncclFloat32;
    case torch::kDouble:
      return ncclFloat64;
    case torch::kLong:
      return ncclInt64;
    case torch::kBFloat16:
      return ncclBfloat16;
    default:
      throw Error(std::string("NCCL collective: unsupported dtype ") +
                  c10::toString(t.scalar_type()));
  }
}

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(MPI_Comm group, int device)
      : device_(device), host_(make_mpi_communicator(group)) {
    rank_ = host_->rank();
    size_ = host_->size();
    ncclUniqueId id;
    if (rank_ == 0) VMUNET_NCCL_CHECK(ncclGetUniqueId(&id), "creating the communicator id");
    if (MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, group) != MPI_SUCCESS)
      throw Error("MPI_Bcast of the NCCL id failed");
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    VMUNET_NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank_), "joining the communicator");
  }
  ~NcclCommunicator() override { ncclCommDestroy(comm_); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  // CPU tensors (counts, loss sums) take a round trip through the GPU.
  void all_reduce_sum(torch::Tensor& t) override {
    auto dev = on_device(t);
    VMUNET_NCCL_CHECK(ncclAllReduce(dev.data_ptr(), dev.data_ptr(), dev.numel(), nccl_type(dev),
                                    ncclSum, comm_, stream()),
                      "all-reduce");
    write_back(t, dev);
  }

  // On a stream of its own, after the work queued so far on the current stream, so the sum runs
  // while the backward pass goes on.
  void start_all_reduce_sum(torch::Tensor& t) override {
    TORCH_CHECK(t.is_cuda() && t.is_contiguous(), "start_all_reduce_sum: needs a contiguous ",
                "tensor on the GPU");
    if (!side_) side_ = c10::cuda::getStreamFromPool(true, static_cast<c10::DeviceIndex>(device_));
    at::cuda::CUDAEvent queued;
    queued.record(at::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)));
    queued.block(*side_);
    VMUNET_NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), t.numel(), nccl_type(t), ncclSum,
                                    comm_, side_->stream()),
                      "all-reduce");
    started_ = true;
  }

  void finish_started() override {
    if (!started_) return;
    at::cuda::CUDAEvent done;
    done.record(*side_);
    done.block(at::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)));
    started_ = false;
  }

  void broadcast(torch::Tensor& t, int root) override {
    auto dev = on_device(t);
    VMUNET_NCCL_CHECK(ncclBroadcast(dev.data_ptr(), dev.data_ptr(), dev.numel(), nccl_type(dev),
                                    root, comm_, stream()),
                      "broadcast");
    write_back(t, dev);
  }

  void barrier() override {
    auto one = torch::ones({1}, torch::TensorOptions().device(torch::kCUDA, device_));
    all_reduce_sum(one);
    torch::cuda::synchronize(device_);
  }

  // On the host over MPI: a stop check at every step must not wait for the GPU.
  bool any(bool flag) override { return host_->any(flag); }

  std::string describe() const override {
    return "NCCL rank " + std::to_string(rank_) + " of " + std::to_string(size_) + " (GPU " +
           std::to_string(device_) + ")";
  }

 private:
  cudaStream_t stream() const {
    return at::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)).stream();
  }
  torch::Tensor on_device(const torch::Tensor& t) const {
    return t.to(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device_))).contiguous();
  }
  static void write_back(torch::Tensor& t, const torch::Tensor& dev) {
    if (!dev.is_same(t)) t.copy_(dev);
  }

  int device_, rank_ = 0, size_ = 1;
  std::unique_ptr<Communicator> host_;  // MPI over the same group
  ncclComm_t comm_ = nullptr;
  std::optional<c10::cuda::CUDAStream> side_;  // started sums
  bool started_ = false;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm comm, int device_index) {
  return std::make_unique<NcclCommunicator>(comm, device_index);
}

}  // namespace vmunet
