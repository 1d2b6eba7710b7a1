// Thin RAII over the SQLite C API. Every status is checked by VMUNET_SQLITE, which reports the
// operation, SQLite's own message and file:line, or throws DatabaseLocked for a lock that another
// process held past the busy timeout.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace vmunet::sql {

[[noreturn]] void fail(const char* file, int line, sqlite3* db, int status,
                       const std::string& what);

// A prepared statement; bind() indices start at 1, column() indices at 0.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, const std::string& value);
  // Steps once: true while it yields a row, false when done.
  bool step();
  // Steps to the end (for statements without results).
  void run();
  // Ready for new bindings and a new execution.
  void reset();

  int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;  // "" for NULL

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
  std::string sql_;
};

// Runs SQL without results (several statements allowed); `what` names it in errors.
void execute(sqlite3* db, const std::string& sql, const std::string& what);

}  // namespace vmunet::sql

#define VMUNET_SQLITE(db, call, what)                                                              \
  do {                                                                                             \
    const int sqlite_status = (call);                                                              \
    if (sqlite_status != SQLITE_OK && sqlite_status != SQLITE_ROW && sqlite_status != SQLITE_DONE) \
      ::vmunet::sql::fail(__FILE__, __LINE__, (db), sqlite_status, (what));                        \
  } while (0)
