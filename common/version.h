#pragma once

namespace vmunet {

// Project version and the `git describe` of the tree it was built from.
const char* version();
const char* git_describe();

}  // namespace vmunet
