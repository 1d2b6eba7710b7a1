// Generators of robustness cases, one per input kind; each returns cases ready for run_cases().
#pragma once

#include <vector>

#include "tests/robustness/case_runner.h"

namespace vmunet::robustness {

std::vector<Case> config_file_cases();   // malformed run config files
std::vector<Case> set_override_cases();  // --set abuse
std::vector<Case> cli_cases();           // command-line mistakes
std::vector<Case> hdf5_cases();          // damaged or lying dataset files
std::vector<Case> image_cases();         // damaged and unusual images for prepare isic
std::vector<Case> safetensors_cases();   // damaged weights and inputs for forward
std::vector<Case> checkpoint_cases();    // damaged checkpoints under train --resume

}  // namespace vmunet::robustness
