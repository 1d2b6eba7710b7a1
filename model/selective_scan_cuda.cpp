// Torch glue for the CUDA selective scan: dtype conversion, contiguity, the launch plan, the
// workspace and the stream. Shape and device checks are done once by selective_scan.cpp.
#ifdef VMUNET_CUDA

#include "model/selective_scan_cuda.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "model/cuda_element_torch.h"
#include "model/scan_delta.h"
#include "model/selective_scan_cuda_params.h"

namespace vmunet {
namespace {

// A (batch, groups, rows, length) operand as the kernels read it: positions contiguous and rows
// `length` apart, at any batch and group stride (SS2D's dt_in, B and C are slices of x_proj's
// output, read in place); a contiguous copy otherwise.
torch::Tensor as_rows(const torch::Tensor& t, torch::ScalarType dtype) {
  auto rows = t.to(dtype);
  if (rows.stride(3) == 1 && rows.stride(2) == rows.size(3)) return rows;
  return rows.contiguous();
}

// The kernels' parameters and the converted tensors and workspace they point into.
struct ScanProblem {
  SelectiveScanCudaParams p;
  torch::Tensor u, delta, dt_in, dt_w, A, B, C, D, delta_bias;
  torch::Tensor workspace;
};

ScanProblem make_problem(const torch::Tensor& u, const ScanDelta& delta, const torch::Tensor& A,
                         const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
                         const torch::Tensor& delta_bias, const ScanOrder& order, int chunks,
                         bool backward, float* tile_states) {
  ScanProblem s;
  auto& p = s.p;
  p.dtype = cuda_dtype(u, "selective_scan", "u");
  p.order = order;
  const auto dt = u.scalar_type();
  s.u = u.contiguous();
  if (delta.delta.defined()) {
    s.delta = delta.delta.to(dt).contiguous();
    p.delta = s.delta.data_ptr();
  } else {
    s.dt_in = as_rows(delta.dt_in, dt);
    s.dt_w = delta.dt_w.to(torch::kFloat).contiguous();
    p.dt_rank = int(s.dt_in.size(2));
    p.dt_in = s.dt_in.data_ptr();
    p.dt_w = s.dt_w.data_ptr<float>();
    p.dt_group_stride = s.dt_in.stride(1);
    p.dt_batch_stride = s.dt_in.stride(0);
  }
  // B and C share one set of strides.
  s.B = as_rows(B, dt);
  s.C = as_rows(C, dt);
  if (s.B.strides() != s.C.strides()) {
    s.B = s.B.contiguous();
    s.C = s.C.contiguous();
  }
  s.A = A.to(torch::kFloat).contiguous();
  s.D = D.to(torch::kFloat).contiguous();
  s.delta_bias = delta_bias.to(torch::kFloat).contiguous();

  const auto sizes = delta.sizes();
  p.batch = int(sizes[0]);
  p.channels = int(sizes[1]);
  p.length = int(sizes[2]);
  p.groups = int(B.size(1));
  p.dstate = int(B.size(2));
  p.channels_per_group = p.channels / p.groups;
  TORCH_CHECK(p.dstate <= kScanStates, "selective_scan (CUDA): dstate (B.size(2)) must be at most ",
              kScanStates, ", found ", p.dstate);
  TORCH_CHECK(p.batch <= 65535, "selective_scan (CUDA): batch must be at most 65535, found ",
              p.batch);
  p.seq_batch_stride = int64_t(p.channels) * p.length;
  p.seq_channel_stride = p.length;
  p.u_batch_stride = u.size(1) * int64_t(p.length);
  p.bc_state_stride = s.B.stride(2);
  p.bc_group_stride = s.B.stride(1);
  p.bc_batch_stride = s.B.stride(0);
  p.u = s.u.data_ptr();
  p.A = s.A.data_ptr<float>();
  p.B = s.B.data_ptr();
  p.C = s.C.data_ptr();
  p.D = s.D.data_ptr<float>();
  p.delta_bias = s.delta_bias.data_ptr<float>();
  p.tile_states = tile_states;  // before sizing the workspace, which then leaves them out

  selective_scan_plan(p, at::cuda::getCurrentDeviceProperties()->multiProcessorCount, chunks);
  const int64_t floats = selective_scan_workspace_floats(p, backward);
  s.workspace = torch::empty({std::max<int64_t>(floats, 1)}, s.u.options().dtype(torch::kFloat));
  p.workspace = s.workspace.data_ptr<float>();
  return s;
}

bool empty_problem(const torch::Tensor& u, const torch::Tensor& B) {
  return u.numel() == 0 || B.size(2) == 0;
}

// u with one row per channel (its group's slice repeated), for the scan-free problems above, where
// y = D·u position by position and the order of steps does not matter.
torch::Tensor u_per_channel(const torch::Tensor& u, const std::vector<int64_t>& sizes,
                            const torch::Tensor& B, const ScanOrder& order) {
  if (order.u_share == 1) return u;
  const int64_t slices = B.size(1) / order.u_share;
  return u.view({u.size(0), slices, 1, -1, u.size(2)})
      .expand({u.size(0), slices, order.u_share, sizes[1] / B.size(1), u.size(2)})
      .reshape(sizes);
}

torch::Tensor fwd(const torch::Tensor& u, const ScanDelta& delta, const torch::Tensor& A,
                  const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
                  const torch::Tensor& delta_bias, const ScanOrder& order, int chunks,
                  torch::Tensor* tile_states) {
  const c10::cuda::CUDAGuard guard(u.device());
  const auto sizes = delta.sizes();
  if (tile_states) *tile_states = torch::Tensor();
  if (empty_problem(u, B))
    return D.view({1, -1, 1}).to(u.scalar_type()) * u_per_channel(u, sizes, B, order);
  float* keep = nullptr;
  if (tile_states) {
    *tile_states = torch::empty({selective_scan_tile_states_floats(sizes[0], sizes[1], sizes[2])},
                                u.options().dtype(torch::kFloat));
    keep = tile_states->data_ptr<float>();
  }
  ScanProblem s = make_problem(u, delta, A, B, C, D, delta_bias, order, chunks, false, keep);
  auto y = torch::empty(sizes, s.u.options());
  s.p.y = y.data_ptr();
  selective_scan_fwd(s.p, at::cuda::getCurrentCUDAStream().stream());
  return y;
}

std::vector<torch::Tensor> bwd(const torch::Tensor& u, const ScanDelta& delta,
                               const torch::Tensor& A, const torch::Tensor& B,
                               const torch::Tensor& C, const torch::Tensor& D,
                               const torch::Tensor& delta_bias, const torch::Tensor& dy,
                               const ScanOrder& order, int chunks,
                               const torch::Tensor& tile_states) {
  const c10::cuda::CUDAGuard guard(u.device());
  const auto f32 = u.options().dtype(torch::kFloat);
  const auto sizes = delta.sizes();
  if (empty_problem(u, B)) {
    auto dyf = dy.to(torch::kFloat);
    return {dy * D.view({1, -1, 1}).to(dy.scalar_type()),
            torch::zeros(sizes, u.options()),
            torch::zeros(A.sizes(), f32),
            torch::zeros_like(B),
            torch::zeros_like(C),
            (dyf * u_per_channel(u, sizes, B, order).to(torch::kFloat)).sum(2).sum(0),
            torch::zeros(delta_bias.sizes(), f32)};
  }
  float* kept = nullptr;
  if (tile_states.defined()) {
    TORCH_CHECK(
        tile_states.scalar_type() == torch::kFloat && tile_states.is_contiguous() &&
            tile_states.numel() == selective_scan_tile_states_floats(sizes[0], sizes[1], sizes[2]),
        "selective_scan (CUDA): tile_states do not come from a forward pass of this shape");
    kept = tile_states.data_ptr<float>();
  }
  ScanProblem s = make_problem(u, delta, A, B, C, D, delta_bias, order, chunks, true, kept);
  const auto dy_c = dy.to(u.scalar_type()).contiguous();
  auto du = torch::empty(sizes, s.u.options());
  auto ddelta = torch::empty(sizes, s.u.options());
  auto dB = torch::empty(s.B.sizes(), s.B.options()), dC = torch::empty(s.C.sizes(), s.C.options());
  auto dA = torch::empty(s.A.sizes(), f32), dD = torch::empty(s.D.sizes(), f32);
  auto ddelta_bias = torch::empty(s.delta_bias.sizes(), f32);
  auto& p = s.p;
  p.dy = dy_c.data_ptr();
  p.du = du.data_ptr();
  p.ddelta = ddelta.data_ptr();
  p.dA = dA.data_ptr<float>();
  p.dB = dB.data_ptr();
  p.dC = dC.data_ptr();
  p.dbc_group_stride = dB.stride(1);
  p.dbc_batch_stride = dB.stride(0);
  p.dD = dD.data_ptr<float>();
  p.ddelta_bias = ddelta_bias.data_ptr<float>();
  selective_scan_bwd(p, at::cuda::getCurrentCUDAStream().stream());
  return {du, ddelta, dA, dB, dC, dD, ddelta_bias};
}

}  // namespace

torch::Tensor selective_scan_fwd_cuda(const torch::Tensor& u, const torch::Tensor& delta,
                                      const torch::Tensor& A, const torch::Tensor& B,
                                      const torch::Tensor& C, const torch::Tensor& D,
                                      const torch::Tensor& delta_bias, const ScanOrder& order,
                                      int chunks, torch::Tensor* tile_states) {
  return fwd(u, {delta, {}, {}}, A, B, C, D, delta_bias, order, chunks, tile_states);
}

std::vector<torch::Tensor> selective_scan_bwd_cuda(const torch::Tensor& u,
                                                   const torch::Tensor& delta,
                                                   const torch::Tensor& A, const torch::Tensor& B,
                                                   const torch::Tensor& C, const torch::Tensor& D,
                                                   const torch::Tensor& delta_bias,
                                                   const torch::Tensor& dy, const ScanOrder& order,
                                                   int chunks, const torch::Tensor& tile_states) {
  return bwd(u, {delta, {}, {}}, A, B, C, D, delta_bias, dy, order, chunks, tile_states);
}

torch::Tensor selective_scan_sum_shared_du_cuda(const torch::Tensor& du, int64_t groups,
                                                int64_t share) {
  const c10::cuda::CUDAGuard guard(du.device());
  const auto src = du.contiguous();
  const int64_t batch = du.size(0), channels = du.size(1), length = du.size(2);
  auto out = torch::empty({batch, channels / share, length}, src.options());
  selective_scan_sum_shared(cuda_dtype(src, "selective_scan", "du"), src.data_ptr(), out.data_ptr(),
                            batch * groups / share, int(share), channels / groups * length,
                            at::cuda::getCurrentCUDAStream().stream());
  return out;
}

torch::Tensor selective_scan_dt_fwd_cuda(const torch::Tensor& u, const torch::Tensor& dt_in,
                                         const torch::Tensor& dt_w, const torch::Tensor& A,
                                         const torch::Tensor& B, const torch::Tensor& C,
                                         const torch::Tensor& D, const torch::Tensor& delta_bias,
                                         const ScanOrder& order, torch::Tensor* tile_states) {
  return fwd(u, {{}, dt_in, dt_w}, A, B, C, D, delta_bias, order, 0, tile_states);
}

std::vector<torch::Tensor> selective_scan_dt_bwd_cuda(
    const torch::Tensor& u, const torch::Tensor& dt_in, const torch::Tensor& dt_w,
    const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
    const torch::Tensor& delta_bias, const torch::Tensor& dy, const ScanOrder& order,
    const torch::Tensor& tile_states) {
  return bwd(u, {{}, dt_in, dt_w}, A, B, C, D, delta_bias, dy, order, 0, tile_states);
}

}  // namespace vmunet

#endif  // VMUNET_CUDA
