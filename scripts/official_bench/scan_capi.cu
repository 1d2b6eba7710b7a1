// A C ABI over the official mamba selective-scan CUDA kernels, so that a Python benchmark can
// load them with ctypes on a machine without mamba_ssm, a compiler or Python headers.
//
// It fills the official SSMParamsBase / SSMParamsBwd exactly as mamba's selective_scan.cpp does
// (set_ssm_params_fwd / set_ssm_params_bwd) for the case VM-UNet uses: real weights (A, D and
// delta_bias float32), "variable" grouped B and C (batch, groups, dstate, L), no z. Strides are in
// elements and come from the caller (torch's tensor.stride()), because VM-UNet hands the kernel
// B and C as non-contiguous views of its x_proj output; the last dimension must be contiguous.
//
// The official headers come from the include dir given at compile time (build_scan_lib.sh).
// Errors come back as a non-zero return and a message from oss_last_error(), never as a throw.

#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

// The kernels report launch errors with C10_CUDA_CHECK / C10_CUDA_KERNEL_LAUNCH_CHECK from
// <c10/cuda/CUDAException.h>, which call into libc10_cuda. build_scan_lib.sh puts an empty stub of
// that header first on the include path and we define the two macros here, as a throw that
// oss_fwd / oss_bwd turn into an error code: the library then needs no libtorch / libc10 at link
// or load time, and no c10 CUDA headers (Debian's CPU LibTorch has none) to build.
#define C10_CUDA_CHECK(EXPR)                                                                   \
  do {                                                                                         \
    const cudaError_t oss_err_ = (EXPR);                                                       \
    if (oss_err_ != cudaSuccess)                                                               \
      throw std::runtime_error(std::string(cudaGetErrorString(oss_err_)) + " (" __FILE__ ":" + \
                               std::to_string(__LINE__) + ")");                                \
  } while (0)
#define C10_CUDA_KERNEL_LAUNCH_CHECK() C10_CUDA_CHECK(cudaGetLastError())

// CCCL 3 (CUDA 13) dropped two cub helpers that the official reverse_scan.cuh still calls.
#include <cub/version.cuh>
#if CUB_VERSION >= 300000
namespace cub {
__device__ __forceinline__ unsigned int LaneId() {
  unsigned int lane;
  asm volatile("mov.u32 %0, %%laneid;" : "=r"(lane));
  return lane;
}
__device__ __forceinline__ void CTA_SYNC() { __syncthreads(); }
}  // namespace cub
#endif

#include "selective_scan_bwd_kernel.cuh"
#include "selective_scan_fwd_kernel.cuh"

namespace {

thread_local std::string last_error;

// The x checkpoint buffer holds one (a, b) pair per chunk of 2048 positions and state; this is
// the official n_chunks (selective_scan.cpp), which both kernels index by.
int n_chunks_for(int seqlen) { return (seqlen + 2048 - 1) / 2048; }

void check_args(int batch, int dim, int seqlen, int dstate, int n_groups) {
  if (batch <= 0 || dim <= 0 || seqlen <= 0 || dstate <= 0 || n_groups <= 0)
    throw std::invalid_argument("sizes must be positive");
  if (dstate > MAX_DSTATE) throw std::invalid_argument("dstate must be <= 256");
  if (dim % n_groups != 0) throw std::invalid_argument("dim must be a multiple of n_groups");
}

// set_ssm_params_fwd for variable B and C and no z. Strides: u, delta, out (batch, d);
// A (d, dstate); B, C (batch, group, dstate).
void fill_fwd(SSMParamsBase& p, int batch, int dim, int seqlen, int dstate, int n_groups,
              bool softplus, const void* u, const int64_t* u_st, const void* delta,
              const int64_t* delta_st, const void* A, const int64_t* A_st, const void* B,
              const int64_t* B_st, const void* C, const int64_t* C_st, const void* D,
              const void* delta_bias, void* out, const int64_t* out_st, void* x) {
  std::memset(&p, 0, sizeof(p));  // as the official code: every unused field zero / null
  p.batch = batch;
  p.dim = dim;
  p.seqlen = seqlen;
  p.dstate = dstate;
  p.n_groups = n_groups;
  p.n_chunks = n_chunks_for(seqlen);
  p.dim_ngroups_ratio = dim / n_groups;
  p.delta_softplus = softplus;
  p.is_variable_B = true;
  p.is_variable_C = true;
  p.u_ptr = const_cast<void*>(u);
  p.delta_ptr = const_cast<void*>(delta);
  p.A_ptr = const_cast<void*>(A);
  p.B_ptr = const_cast<void*>(B);
  p.C_ptr = const_cast<void*>(C);
  p.D_ptr = const_cast<void*>(D);
  p.delta_bias_ptr = const_cast<void*>(delta_bias);
  p.out_ptr = out;
  p.x_ptr = x;
  p.z_ptr = nullptr;
  p.out_z_ptr = nullptr;
  p.A_d_stride = A_st[0];
  p.A_dstate_stride = A_st[1];
  p.B_batch_stride = B_st[0];
  p.B_group_stride = B_st[1];
  p.B_dstate_stride = B_st[2];
  p.C_batch_stride = C_st[0];
  p.C_group_stride = C_st[1];
  p.C_dstate_stride = C_st[2];
  p.u_batch_stride = u_st[0];
  p.u_d_stride = u_st[1];
  p.delta_batch_stride = delta_st[0];
  p.delta_d_stride = delta_st[1];
  p.out_batch_stride = out_st[0];
  p.out_d_stride = out_st[1];
}

int fail(const char* what, const std::exception& e) {
  last_error = std::string(what) + ": " + e.what();
  return 1;
}

}  // namespace

extern "C" {

const char* oss_last_error() { return last_error.c_str(); }

int oss_n_chunks(int seqlen) { return n_chunks_for(seqlen); }

// Forward. is_bf16 selects input_t (u, delta, B, C, out): bfloat16 or float32. x must hold
// batch·dim·n_chunks·2·dstate float32 (the official code zero-fills it); the kernel writes every
// chunk's running (a, b) into it for the backward. D and delta_bias may be null.
int oss_fwd(int is_bf16, int batch, int dim, int seqlen, int dstate, int n_groups,
            int delta_softplus, const void* u, const int64_t* u_st, const void* delta,
            const int64_t* delta_st, const float* A, const int64_t* A_st, const void* B,
            const int64_t* B_st, const void* C, const int64_t* C_st, const float* D,
            const float* delta_bias, void* out, const int64_t* out_st, float* x, int device,
            void* stream) {
  try {
    check_args(batch, dim, seqlen, dstate, n_groups);
    C10_CUDA_CHECK(cudaSetDevice(device));  // the official code's CUDAGuard
    SSMParamsBase p;
    fill_fwd(p, batch, dim, seqlen, dstate, n_groups, delta_softplus != 0, u, u_st, delta, delta_st,
             A, A_st, B, B_st, C, C_st, D, delta_bias, out, out_st, x);
    const auto s = static_cast<cudaStream_t>(stream);
    if (is_bf16)
      selective_scan_fwd_cuda<at::BFloat16, float>(p, s);
    else
      selective_scan_fwd_cuda<float, float>(p, s);
    return 0;
  } catch (const std::exception& e) {
    return fail("selective_scan_fwd", e);
  }
}

// Backward, from the forward's x. dA, dB, dC (float32, shaped like A, B, C), dD and ddelta_bias
// (float32, may be null) are accumulated with atomics and must be zero on entry, as the official
// code allocates them; du and ddelta (input_t) are written. Like set_ssm_params_bwd without z, the
// params' out pointer and strides are dout's (only read when z is given).
int oss_bwd(int is_bf16, int batch, int dim, int seqlen, int dstate, int n_groups,
            int delta_softplus, const void* u, const int64_t* u_st, const void* delta,
            const int64_t* delta_st, const float* A, const int64_t* A_st, const void* B,
            const int64_t* B_st, const void* C, const int64_t* C_st, const float* D,
            const float* delta_bias, const void* dout, const int64_t* dout_st, const float* x,
            void* du, const int64_t* du_st, void* ddelta, const int64_t* ddelta_st, float* dA,
            const int64_t* dA_st, float* dB, const int64_t* dB_st, float* dC, const int64_t* dC_st,
            float* dD, float* ddelta_bias, int device, void* stream) {
  try {
    check_args(batch, dim, seqlen, dstate, n_groups);
    if (x == nullptr && n_chunks_for(seqlen) > 1)
      throw std::invalid_argument("x is required when seqlen > 2048");
    C10_CUDA_CHECK(cudaSetDevice(device));
    SSMParamsBwd p;
    std::memset(&p, 0, sizeof(p));
    fill_fwd(p, batch, dim, seqlen, dstate, n_groups, delta_softplus != 0, u, u_st, delta, delta_st,
             A, A_st, B, B_st, C, C_st, D, delta_bias, const_cast<void*>(dout), dout_st,
             const_cast<float*>(x));
    p.dout_ptr = const_cast<void*>(dout);
    p.du_ptr = du;
    p.dA_ptr = dA;
    p.dB_ptr = dB;
    p.dC_ptr = dC;
    p.dD_ptr = dD;
    p.ddelta_ptr = ddelta;
    p.ddelta_bias_ptr = ddelta_bias;
    p.dz_ptr = nullptr;
    p.dout_batch_stride = dout_st[0];
    p.dout_d_stride = dout_st[1];
    p.dA_d_stride = dA_st[0];
    p.dA_dstate_stride = dA_st[1];
    p.dB_batch_stride = dB_st[0];
    p.dB_group_stride = dB_st[1];
    p.dB_dstate_stride = dB_st[2];
    p.dC_batch_stride = dC_st[0];
    p.dC_group_stride = dC_st[1];
    p.dC_dstate_stride = dC_st[2];
    p.du_batch_stride = du_st[0];
    p.du_d_stride = du_st[1];
    p.ddelta_batch_stride = ddelta_st[0];
    p.ddelta_d_stride = ddelta_st[1];
    const auto s = static_cast<cudaStream_t>(stream);
    if (is_bf16)
      selective_scan_bwd_cuda<at::BFloat16, float>(p, s);
    else
      selective_scan_bwd_cuda<float, float>(p, s);
    return 0;
  } catch (const std::exception& e) {
    return fail("selective_scan_bwd", e);
  }
}

}  // extern "C"
