// The robustness suite: several hundred generated bad inputs and faults (configs, --set values,
// command lines, dataset files, images, safetensors, checkpoints), each run through the built
// binary under a time limit. Every bad input must end in one `vmunet: error:` line and a non-zero
// exit with nothing written half-way; every legitimate oddity must give the right result. The
// table printed at the end counts cases and clean outcomes per category. The kill/resume trials
// of training live in tests/test_train_resume.cpp and carry the same ctest label, "robustness".
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/robustness/generators.h"
#include "tests/robustness/workspace.h"

namespace vmunet::robustness {
namespace {

void expect_clean(const std::vector<Case>& cases, size_t at_least) {
  EXPECT_GE(cases.size(), at_least);
  for (const std::string& failure : run_cases(cases)) ADD_FAILURE() << failure;
}

TEST(Robustness, ConfigFiles) { expect_clean(config_file_cases(), 100); }
TEST(Robustness, SetOverrides) { expect_clean(set_override_cases(), 30); }
TEST(Robustness, CommandLines) { expect_clean(cli_cases(), 40); }
TEST(Robustness, DatasetFiles) { expect_clean(hdf5_cases(), 50); }
TEST(Robustness, Images) { expect_clean(image_cases(), 40); }
TEST(Robustness, Safetensors) { expect_clean(safetensors_cases(), 60); }
TEST(Robustness, Checkpoints) { expect_clean(checkpoint_cases(), 10); }

class Table : public ::testing::Environment {
 public:
  void TearDown() override {
    print_table();
    std::filesystem::remove_all(workspace().dir);
  }
};

const auto* const table = ::testing::AddGlobalTestEnvironment(new Table);

}  // namespace
}  // namespace vmunet::robustness
