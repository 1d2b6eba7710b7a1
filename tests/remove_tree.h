// Removes a folder and everything in it, through POSIX nftw rather than
// std::filesystem::remove_all: the PyTorch wheel's libtorch.so exports an older build of remove_all
// that our test binaries bind to on the GPU machine, and it jumps to a null address there.
#pragma once

#include <ftw.h>

#include <cstdio>
#include <filesystem>

namespace vmunet::test {

inline void remove_tree(const std::filesystem::path& dir) {
  auto remove_one = [](const char* path, const struct stat*, int, struct FTW*) {
    return std::remove(path);
  };
  nftw(dir.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

}  // namespace vmunet::test
