#include "worker/gradient_reducer.h"

#include <torch/torch.h>

#include "common/error.h"

namespace vmunet {

GradientReducer::GradientReducer(std::vector<torch::Tensor> params, Communicator& comm,
                                 size_t bucket_bytes)
    : comm_(comm) {
  // Frozen parameters get no gradient and are left alone (no zeros that weight decay would act on).
  for (auto& p : params)
    if (p.requires_grad()) params_.push_back(std::move(p));
  slots_.resize(params_.size());
  has_grad_.assign(params_.size(), false);
  if (comm_.size() == 1 || params_.empty()) return;
  for (const auto& p : params_)
    VMUNET_CHECK(p.scalar_type() == params_[0].scalar_type() && p.device() == params_[0].device(),
                 "GradientReducer: parameters must share one dtype and device");
  size_t bytes = bucket_bytes;  // forces a new bucket for the first parameter
  for (size_t k = params_.size(); k-- > 0;) {
    const size_t n = params_[k].nbytes();
    if (buckets_.empty() || (bytes + n > bucket_bytes && !buckets_.back().params.empty())) {
      buckets_.emplace_back();
      bytes = 0;
    }
    auto& b = buckets_.back();
    slots_[k] = {buckets_.size() - 1, 0};
    b.params.push_back(k);
    bytes += n;
  }
  for (auto& b : buckets_) {
    int64_t numel = 0;
    for (size_t k : b.params) {
      slots_[k].offset = numel;
      numel += params_[k].numel();
    }
    b.flat = torch::zeros({numel}, params_[0].options());
  }
  for (size_t k = 0; k < params_.size(); ++k)
    hooks_.push_back(
        params_[k].register_hook([this, k](const torch::Tensor& g) { arrived(k, g); }));
}

GradientReducer::~GradientReducer() {
  for (size_t k = 0; k < hooks_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

torch::Tensor GradientReducer::slot_view(size_t k) {
  const auto& s = slots_[k];
  return buckets_[s.bucket].flat.narrow(0, s.offset, params_[k].numel()).view_as(params_[k]);
}

void GradientReducer::prepare(double weight) {
  weight_ = weight;
  next_start_ = 0;
  std::fill(has_grad_.begin(), has_grad_.end(), false);
  for (auto& b : buckets_) b.missing = b.params.size();
  // AccumulateGrad then hands each parameter a fresh gradient instead of adding into the bucket
  // views left in .grad by the previous step.
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

void GradientReducer::arrived(size_t k, const torch::Tensor& grad) {
  torch::NoGradGuard no_grad;
  VMUNET_CHECK(!has_grad_[k], "GradientReducer: a gradient arrived twice in one backward pass");
  has_grad_[k] = true;
  slot_view(k).copy_(grad);
  auto& b = buckets_[slots_[k].bucket];
  if (--b.missing == 0) start_ready();
}

void GradientReducer::start_ready() {
  while (next_start_ < buckets_.size() && buckets_[next_start_].missing == 0)
    start(buckets_[next_start_++]);
}

void GradientReducer::start(Bucket& b) {
  if (weight_ != 1.0) b.flat.mul_(weight_);
  comm_.start_all_reduce_sum(b.flat);
}

void GradientReducer::finish() {
  torch::NoGradGuard no_grad;
  if (buckets_.empty()) {  // one rank: the gradients are already the sum
    for (auto& p : params_) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      if (weight_ != 1.0) p.mutable_grad().mul_(weight_);
    }
    return;
  }
  for (; next_start_ < buckets_.size(); ++next_start_) {
    auto& b = buckets_[next_start_];
    for (size_t k : b.params)
      if (!has_grad_[k]) slot_view(k).zero_();
    start(b);
  }
  comm_.finish_started();
  for (size_t k = 0; k < params_.size(); ++k) params_[k].mutable_grad() = slot_view(k);
}

}  // namespace vmunet
