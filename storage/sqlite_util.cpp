#include "storage/sqlite_util.h"

#include <sstream>

#include "common/error.h"
#include "storage/database_locked.h"

namespace vmunet::sql {
namespace {

// The connection's busy timeout, as "30 s". Unchecked: a failure here must not replace the
// lock being reported.
std::string busy_timeout(sqlite3* db) {
  sqlite3_stmt* query = nullptr;
  int ms = 0;
  if (db && sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &query, nullptr) == SQLITE_OK &&
      sqlite3_step(query) == SQLITE_ROW)
    ms = sqlite3_column_int(query, 0);
  sqlite3_finalize(query);
  std::ostringstream text;
  text << ms / 1000.0 << " s";
  return text.str();
}

}  // namespace

void fail(const char* file, int line, sqlite3* db, int status, const std::string& what) {
  const std::string path =
      db && sqlite3_db_filename(db, "main") ? sqlite3_db_filename(db, "main") : "";
  // The statement is left out: what the user can act on is the file and the other process.
  if ((status & 0xff) == SQLITE_BUSY || (status & 0xff) == SQLITE_LOCKED)
    throw DatabaseLocked((path.empty() ? "the database" : path) +
                         " is locked by another process (waited " + busy_timeout(db) +
                         "); stop that process or use another --db");
  std::string message = sqlite3_errstr(status);
  if (db && sqlite3_errcode(db) == status) message = sqlite3_errmsg(db);
  fail_at(file, line, (path.empty() ? "" : path + ": ") + what + ": " + message);
}

Statement::Statement(sqlite3* db, const std::string& sql) : db_(db) {
  // Errors name the statement by its first words ("UPDATE runs SET status = ?2, ..."), on one
  // line: the whole text of a long statement would bury the message.
  std::istringstream words(sql);
  for (std::string word; words >> word && sql_.size() < 40;)
    sql_ += (sql_.empty() ? "" : " ") + word;
  if (words) sql_ += " ...";
  VMUNET_SQLITE(db_, sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement_, nullptr),
                "preparing " + sql_);
}

Statement::~Statement() { sqlite3_finalize(statement_); }

Statement& Statement::bind(int index, int64_t value) {
  VMUNET_SQLITE(db_, sqlite3_bind_int64(statement_, index, value), "binding to " + sql_);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  VMUNET_SQLITE(db_, sqlite3_bind_double(statement_, index, value), "binding to " + sql_);
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  VMUNET_SQLITE(db_,
                sqlite3_bind_text(statement_, index, value.data(), static_cast<int>(value.size()),
                                  SQLITE_TRANSIENT),
                "binding to " + sql_);
  return *this;
}

bool Statement::step() {
  const int status = sqlite3_step(statement_);
  VMUNET_SQLITE(db_, status, "running " + sql_);
  return status == SQLITE_ROW;
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(statement_);  // its status repeats the last step's, already checked
  sqlite3_clear_bindings(statement_);
}

int64_t Statement::column_int(int index) const { return sqlite3_column_int64(statement_, index); }

double Statement::column_double(int index) const {
  return sqlite3_column_double(statement_, index);
}

std::string Statement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, index));
  return text ? std::string(text, static_cast<size_t>(sqlite3_column_bytes(statement_, index)))
              : std::string();
}

void execute(sqlite3* db, const std::string& sql, const std::string& what) {
  VMUNET_SQLITE(db, sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), what);
}

}  // namespace vmunet::sql
