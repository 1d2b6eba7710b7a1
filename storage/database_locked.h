// Another process held the results database's lock for longer than the connection's busy timeout.
// Its own type because the one who catches it must not write to the database again: that would
// wait out the same timeout on the same lock.
#pragma once

#include "common/error.h"

namespace vmunet {

class DatabaseLocked : public Error {
 public:
  using Error::Error;
};

}  // namespace vmunet
