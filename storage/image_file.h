// Reading one image file for `prepare`, refusing what decoders would otherwise turn silently into
// wrong pixels: empty files, headers claiming absurd sizes, truncated JPEGs and PNGs (no end
// marker), and JPEGs whose entropy-coded data libjpeg flags as corrupt (it would decode them,
// half grey, with only a warning on stderr).
#pragma once

#include <opencv2/core/mat.hpp>

#include <string>

namespace vmunet {

// Sides larger than this are refused before decoding (ISIC's largest images are about 6700 px).
constexpr int kMaxImageSide = 16384;

// cv::imdecode of the file with `flags`; empty with `problem` set ("<path>: <what is wrong>")
// when the file is missing, damaged or not an image.
cv::Mat read_image_file(const std::string& path, int flags, std::string& problem);

}  // namespace vmunet
