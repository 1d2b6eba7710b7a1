#include "model/recompute.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <mutex>

// LibTorch 2.4 replaced the CUDA- and CPU-only autocast switches by per-device-type ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define VMUNET_AUTOCAST_PER_DEVICE 1
#endif

namespace vmunet {
namespace {

// The calling thread's autocast switches. The backward pass runs outside the forward's autocast
// region (on CUDA, on autograd's own thread), so the recomputation sets them itself.
struct AutocastSettings {
  bool cuda = false, cpu = false, cache = true;
  at::ScalarType cuda_dtype = at::kHalf, cpu_dtype = at::kBFloat16;

  static AutocastSettings current() {
    AutocastSettings s;
#ifdef VMUNET_AUTOCAST_PER_DEVICE
    s.cuda = at::autocast::is_autocast_enabled(at::kCUDA);
    s.cpu = at::autocast::is_autocast_enabled(at::kCPU);
    s.cuda_dtype = at::autocast::get_autocast_dtype(at::kCUDA);
    s.cpu_dtype = at::autocast::get_autocast_dtype(at::kCPU);
#else
    s.cuda = at::autocast::is_enabled();
    s.cpu = at::autocast::is_cpu_enabled();
    s.cuda_dtype = at::autocast::get_autocast_gpu_dtype();
    s.cpu_dtype = at::autocast::get_autocast_cpu_dtype();
#endif
    s.cache = at::autocast::is_autocast_cache_enabled();
    return s;
  }

  void set() const {
#ifdef VMUNET_AUTOCAST_PER_DEVICE
    at::autocast::set_autocast_dtype(at::kCUDA, cuda_dtype);
    at::autocast::set_autocast_dtype(at::kCPU, cpu_dtype);
    at::autocast::set_autocast_enabled(at::kCUDA, cuda);
    at::autocast::set_autocast_enabled(at::kCPU, cpu);
#else
    at::autocast::set_autocast_gpu_dtype(cuda_dtype);
    at::autocast::set_autocast_cpu_dtype(cpu_dtype);
    at::autocast::set_enabled(cuda);
    at::autocast::set_cpu_enabled(cpu);
#endif
    at::autocast::set_autocast_cache_enabled(cache);
  }
};

// fn(x) under `settings` but without autocast's cache of weight casts, then the thread's own
// settings back. The first run has no grad mode: a cached cast of a weight made there would carry
// no gradient edge, and a later use of the cache under grad mode would lose the weight's gradient.
torch::Tensor run_fn(const TensorFn& fn, const torch::Tensor& x, AutocastSettings settings) {
  struct Restore {
    AutocastSettings previous;
    ~Restore() { previous.set(); }
  } restore{AutocastSettings::current()};
  settings.cache = false;
  settings.set();
  return fn(x);
}

// Puts a generator in a saved state for its lifetime, then back in the state it had: the
// recomputation draws the first run's numbers (drop path's masks), and the draws after the
// backward pass go on as without recomputation.
class ReplayRng {
 public:
  ReplayRng(at::Generator generator, const torch::Tensor& state)
      : generator_(std::move(generator)) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    outer_ = generator_.get_state();
    generator_.set_state(state);
  }
  ~ReplayRng() {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_state(outer_);
  }
  ReplayRng(const ReplayRng&) = delete;
  ReplayRng& operator=(const ReplayRng&) = delete;

 private:
  at::Generator generator_;
  torch::Tensor outer_;
};

// What the backward pass needs besides x; held by the autograd context as a capsule.
struct RecomputeState : torch::CustomClassHolder {
  TensorFn fn;
  at::Generator generator;  // the default generator of x's device, the one drop path draws from
  torch::Tensor rng_state;  // its state before the first run
  AutocastSettings autocast;
};

class RecomputeFunction : public torch::autograd::Function<RecomputeFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const TensorFn& fn) {
    auto state = c10::make_intrusive<RecomputeState>();
    state->fn = fn;
    state->generator = at::globalContext().defaultGenerator(x.device());
    {
      std::lock_guard<std::mutex> lock(state->generator.mutex());
      state->rng_state = state->generator.get_state();
    }
    state->autocast = AutocastSettings::current();
    ctx->save_for_backward({x});
    ctx->saved_data["state"] = c10::IValue::make_capsule(state);
    return run_fn(fn, x, state->autocast);  // Function::apply runs forward without grad mode
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto capsule = ctx->saved_data["state"].toCapsule();
    const auto& state = *static_cast<const RecomputeState*>(capsule.get());
    const auto x = ctx->get_saved_variables()[0].detach().requires_grad_();
    torch::Tensor y;
    {
      torch::AutoGradMode grad_mode(true);
      ReplayRng replay(state.generator, state.rng_state);
      y = run_fn(state.fn, x, state.autocast);
    }
    // A nested backward pass: the parameters' AccumulateGrad nodes (and their hooks) run here,
    // once each, in the order the whole graph's backward would run them.
    torch::autograd::backward({y}, {grads[0]});
    return {x.grad(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor recomputed(const TensorFn& fn, const torch::Tensor& x) {
  if (!torch::GradMode::is_enabled() || !x.requires_grad()) return fn(x);
  return RecomputeFunction::apply(x, fn);
}

}  // namespace vmunet
