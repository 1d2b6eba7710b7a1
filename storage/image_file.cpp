#include "storage/image_file.h"

#include <cstdio>  // before jpeglib.h, which uses FILE without including it

#include <jpeglib.h>  // before jerror.h: its jconfig.h decides which messages exist

#include <jerror.h>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include <csetjmp>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <vector>

namespace vmunet {
namespace {

using Bytes = std::vector<unsigned char>;

bool starts_with(const Bytes& b, std::initializer_list<unsigned char> magic) {
  return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
}

uint32_t big_endian(const Bytes& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | b[at + static_cast<size_t>(i)];
  return v;
}

// PNG: the IHDR chunk gives the size; a complete file ends with the IEND chunk.
std::string check_png(const Bytes& b, int& width, int& height) {
  if (b.size() < 33 || big_endian(b, 12, 4) != 0x49484452)  // "IHDR"
    return "PNG header is truncated";
  width = static_cast<int>(std::min<uint32_t>(big_endian(b, 16, 4), INT32_MAX));
  height = static_cast<int>(std::min<uint32_t>(big_endian(b, 20, 4), INT32_MAX));
  if (b.size() < 45 || big_endian(b, b.size() - 8, 4) != 0x49454e44)  // "IEND"
    return "PNG file is truncated (no IEND chunk at its end)";
  return "";
}

// libjpeg reports corrupt entropy-coded data as warnings and decodes on; count them instead of
// letting them reach stderr, and turn fatal errors into a message instead of exit().
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf escape;
  int warnings = 0;
  char first[JMSG_LENGTH_MAX] = "";
};

void jpeg_fatal(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  (*info->err->format_message)(info, errors->first);
  std::longjmp(errors->escape, 1);
}

// Only warnings that mean lost or garbled pixels count; others (a non-standard but complete
// file, say) are silenced without rejecting the image.
void jpeg_message(j_common_ptr info, int level) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  const int code = info->err->msg_code;
  const bool damage = code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER ||
                      code == JWRN_MUST_RESYNC || code == JWRN_HUFF_BAD_CODE ||
                      code == JWRN_BOGUS_PROGRESSION;
  if (level >= 0 || !damage) return;
  if (errors->warnings++ == 0) (*info->err->format_message)(info, errors->first);
}

// Decodes the whole JPEG at 1/8 scale (every entropy-coded byte is still read, at a fraction of
// the cost) and reports the size and libjpeg's first complaint.
std::string check_jpeg(const Bytes& b, int& width, int& height) {
  // Some writers append bytes after the end-of-image marker; the marker must still be near the end.
  const size_t tail = std::min<size_t>(b.size(), 65536);
  bool ended = false;
  for (size_t i = b.size() - tail; i + 1 < b.size() && !ended; ++i)
    ended = b[i] == 0xff && b[i + 1] == 0xd9;
  if (!ended) return "JPEG file is truncated (no end-of-image marker)";
  jpeg_decompress_struct info;
  JpegErrors errors;
  info.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_fatal;
  errors.manager.emit_message = jpeg_message;
  jpeg_create_decompress(&info);
  std::vector<JSAMPLE> row;
  if (setjmp(errors.escape)) {
    jpeg_destroy_decompress(&info);
    return std::string("JPEG data is corrupt (") + errors.first + ")";
  }
  jpeg_mem_src(&info, b.data(), static_cast<unsigned long>(b.size()));
  jpeg_read_header(&info, TRUE);
  width = static_cast<int>(info.image_width);
  height = static_cast<int>(info.image_height);
  if (width > kMaxImageSide || height > kMaxImageSide) {
    jpeg_destroy_decompress(&info);
    return "";  // refused by size below, without decoding
  }
  info.scale_num = 1;
  info.scale_denom = 8;
  jpeg_start_decompress(&info);
  row.resize(static_cast<size_t>(info.output_width) * static_cast<size_t>(info.output_components));
  JSAMPROW rows[1] = {row.data()};
  while (info.output_scanline < info.output_height) jpeg_read_scanlines(&info, rows, 1);
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  if (errors.warnings > 0) return std::string("JPEG data is corrupt (") + errors.first + ")";
  return "";
}

}  // namespace

cv::Mat read_image_file(const std::string& path, int flags, std::string& problem) {
  problem.clear();
  // OpenCV logs decoder failures to stderr itself; they are reported here, by name, instead.
  static const bool silenced = [] {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    return true;
  }();
  (void)silenced;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problem = path + ": cannot be read";
    return {};
  }
  const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) {
    problem = path + ": is empty (0 bytes)";
    return {};
  }
  int width = 0, height = 0;
  std::string damage;
  if (starts_with(bytes, {0x89, 'P', 'N', 'G'}))
    damage = check_png(bytes, width, height);
  else if (starts_with(bytes, {0xff, 0xd8}))
    damage = check_jpeg(bytes, width, height);
  if (!damage.empty()) {
    problem = path + ": " + damage;
    return {};
  }
  if (width > kMaxImageSide || height > kMaxImageSide) {
    problem = path + ": claims " + std::to_string(width) + "x" + std::to_string(height) +
              " pixels, more than " + std::to_string(kMaxImageSide) + " per side";
    return {};
  }
  cv::Mat image;
  // imdecode also writes some failures straight to std::cerr; they are reported here instead.
  std::ostringstream swallowed;
  std::streambuf* const cerr_buffer = std::cerr.rdbuf(swallowed.rdbuf());
  try {
    image = cv::imdecode(bytes, flags);
  } catch (const cv::Exception& e) {
    problem = path + ": cannot be decoded (" + e.err + ")";
  }
  std::cerr.rdbuf(cerr_buffer);
  if (!problem.empty()) return {};
  if (image.empty()) problem = path + " is unreadable or not an image";
  return image;
}

}  // namespace vmunet
