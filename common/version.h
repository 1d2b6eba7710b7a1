#pragma once

namespace vmunet {

// Project version, and the `git describe` (with -dirty) of this project's checkout at the last
// build, or "unknown" when the source is not a git checkout of its own.
const char* version();
const char* git_describe();

}  // namespace vmunet
