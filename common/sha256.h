// SHA-256 digests (OpenSSL) for run keys, checkpoint checksums and artifact records.
#pragma once

#include <string>

namespace vmunet {

// Lower-case hex digest of `bytes`.
std::string sha256_hex(const std::string& bytes);

// Lower-case hex digest of a file's contents; throws vmunet::Error naming the file if unreadable.
std::string sha256_file(const std::string& path);

}  // namespace vmunet
