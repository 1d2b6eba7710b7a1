#include "cli/commands.h"

namespace vmunet::cli {

std::vector<AddCommand>& all_commands() {
  static std::vector<AddCommand> commands;
  return commands;
}

bool register_command(AddCommand add) {
  all_commands().push_back(std::move(add));
  return true;
}

}  // namespace vmunet::cli
