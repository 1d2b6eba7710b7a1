// The results database's schema history. Each migration moves a database from version - 1 to
// version (PRAGMA user_version); a new schema change is a new entry, never an edit of an old one.
#pragma once

#include <vector>

namespace vmunet {

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

const std::vector<Migration>& results_migrations();  // versions 1, 2, ... in order
int latest_results_schema();

}  // namespace vmunet
