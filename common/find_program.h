// Where an external program would be run from: the first executable `name` in a PATH folder.
#pragma once

#include <string>

namespace vmunet {

std::string find_program(const std::string& name);  // "" when not on the PATH

}  // namespace vmunet
