#include "worker/lr_schedule.h"

#include <cmath>
#include <string>

#include "common/error.h"

namespace vmunet {

double cosine_annealing_lr(const CosineSchedule& s, int64_t epoch) {
  if (s.t_max < 1) {
    throw Error("cosine schedule: t_max must be at least 1 epoch, got " + std::to_string(s.t_max));
  }
  if (epoch < 0) {
    throw Error("cosine schedule: epoch must be non-negative, got " + std::to_string(epoch));
  }
  const double T = static_cast<double>(s.t_max);
  double lr = s.base_lr;
  // PyTorch's get_lr, one branch per case and with its operation order. The first branch is the
  // step just past each minimum, where the ratio form would divide by 1 + cos(π) = 0.
  for (int64_t e = 1; e <= epoch; ++e) {
    if ((e - 1 - s.t_max) % (2 * s.t_max) == 0) {
      lr = lr + (s.base_lr - s.eta_min) * (1 - std::cos(M_PI / T)) / 2;
    } else {
      lr = (1 + std::cos(M_PI * static_cast<double>(e) / T)) /
               (1 + std::cos(M_PI * static_cast<double>(e - 1) / T)) * (lr - s.eta_min) +
           s.eta_min;
    }
  }
  return lr;
}

}  // namespace vmunet
