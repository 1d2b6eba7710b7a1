// The code version recorded with runs: common/version.cmake gives this project's own
// `git describe`, "-dirty" with uncommitted changes, and "unknown" for a tree that is not its own
// git checkout (an exported tree inside another repository).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/remove_tree.h"
#include "tests/run_binary.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;

class Version : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vmunet_version_" + std::to_string(::getpid()));
    test::remove_tree(dir);
    fs::create_directories(dir / "repo" / "exported");
    std::ofstream(dir / "in.txt") << "@PROJECT_VERSION@ @VMUNET_GIT_DESCRIBE@\n";
    const auto r = test::run_shell(
        "git init -q && git config user.email t@t && git config user.name t && echo a > a && "
        "git add a && git commit -qm one && git tag v9 && cp a exported/a",
        (dir / "repo").string());
    ASSERT_EQ(r.status, 0) << r.output;
  }
  void TearDown() override { test::remove_tree(dir); }

  // The text version.cmake writes for the tree at `source`.
  std::string version_of(const fs::path& source) {
    const auto out = dir / "out.txt";
    const auto r =
        test::run_shell(std::string("'") + VMUNET_CMAKE + "' -DSOURCE_DIR='" + source.string() +
                        "' -DVERSION=1.2.3 -DINPUT='" + (dir / "in.txt").string() + "' -DOUTPUT='" +
                        out.string() + "' -P '" + VMUNET_SOURCE_DIR + "/common/version.cmake'");
    EXPECT_EQ(r.status, 0) << r.output;
    std::stringstream text;
    text << std::ifstream(out).rdbuf();
    return text.str();
  }
  fs::path dir;
};

TEST_F(Version, DescribesItsOwnCheckoutOnly) {
  EXPECT_EQ(version_of(dir / "repo"), "1.2.3 v9\n");
  EXPECT_EQ(version_of(dir / "repo" / "exported"), "1.2.3 unknown\n");
  EXPECT_EQ(version_of(dir), "1.2.3 unknown\n");
  std::ofstream(dir / "repo" / "a") << "changed\n";
  EXPECT_EQ(version_of(dir / "repo"), "1.2.3 v9-dirty\n");
}

}  // namespace
}  // namespace vmunet
