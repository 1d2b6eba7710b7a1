// RunRecorder writing straight to the results database: for a single `vmunet train`, whose rank 0
// is the database's only writer.
#pragma once

#include <map>
#include <string>

#include "storage/results_db.h"
#include "worker/run_recorder.h"

namespace vmunet {

class DbRecorder : public RunRecorder {
 public:
  explicit DbRecorder(ResultsDb& db) : db_(db) {}
  void started(const RunStart& start) override;
  void epoch(const std::string& run_key, const EpochRecord& record) override;
  void metric(const std::string& run_key, const std::string& split, const std::string& name,
              double value) override;
  void case_metric(const std::string& run_key, const std::string& split,
                   const std::string& case_name, const std::string& name, double value) override;
  void evaluation(const std::string& run_key, int64_t epoch, const std::string& split,
                  const std::string& name, double value) override;
  void artifact(const std::string& run_key, const std::string& kind, const std::string& path,
                const std::string& sha256) override;
  void artifact_removed(const std::string& run_key, const std::string& path) override;
  void finished(const std::string& run_key, const std::string& status,
                const std::string& error) override;

 private:
  int64_t id(const std::string& run_key);
  ResultsDb& db_;
  std::map<std::string, int64_t> ids_;
};

}  // namespace vmunet
