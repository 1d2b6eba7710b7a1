// The paper's learning-rate schedule: cosine annealing, stepped once per epoch.
#pragma once

#include <cstdint>

namespace vmunet {

struct CosineSchedule {
  double base_lr = 1e-3;
  double eta_min = 1e-5;
  int64_t t_max = 50;  // epochs from base_lr down to eta_min; the curve then rises again
};

// The learning rate to train epoch `epoch` with (0-based: the number of scheduler steps taken
// before it, so epoch 0 uses base_lr), as torch.optim.lr_scheduler.CosineAnnealingLR sets it.
// PyTorch updates the lr recursively from the previous value; this replays that recursion from
// epoch 0 with the same double arithmetic, so it matches PyTorch's values step for step. In exact
// arithmetic the recursion equals the closed form
//   eta_min + (base_lr − eta_min)·(1 + cos(π·epoch/t_max))/2
// at every epoch, including past t_max, where it is periodic with period 2·t_max (back at base_lr
// at epoch 2·t_max); the two differ by a few ulps. Throws vmunet::Error if t_max < 1 or epoch < 0.
double cosine_annealing_lr(const CosineSchedule& schedule, int64_t epoch);

}  // namespace vmunet
