// The .npy parser and the .npz reader, on files written here: every header version, every dtype,
// stored and deflated zip members, and malformed inputs with their messages.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"
#include "storage/npy.h"
#include "test_storage_helpers.h"
#ifdef VMUNET_HAVE_IMPORTERS
#include "storage/npz.h"
#endif

namespace vmunet {
namespace {

using test::npy_bytes;
using test::raw_bytes;

std::string header(const std::string& descr, const std::string& shape,
                   const std::string& order = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    parse_npy(bytes, "x.npy");
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

TEST(Npy, EveryHeaderVersionParsesTheSameArray) {
  const std::vector<float> values{0.0f, 0.25f, -1.5f, 3e8f, 1e-7f, 7.0f};
  for (int major : {1, 2, 3}) {
    const NpyArray array =
        parse_npy(npy_bytes(major, header("<f4", "(2, 3)"), raw_bytes(values)), "x.npy");
    EXPECT_EQ(array.type, NpyType::float32) << "version " << major;
    EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(array.size(), 6);
    EXPECT_EQ(array.to_float(), values);
  }
}

TEST(Npy, EveryDtypeConvertsToFloat) {
  const std::vector<float> expected{0, 1, 2, 100};
  auto check = [&](const std::string& descr, NpyType type, const std::vector<uint8_t>& data) {
    const NpyArray array = parse_npy(npy_bytes(1, header(descr, "(4,)"), data), descr);
    EXPECT_EQ(array.type, type) << descr;
    EXPECT_EQ(array.to_float(), expected) << descr;
  };
  check("|u1", NpyType::uint8, raw_bytes(std::vector<uint8_t>{0, 1, 2, 100}));
  check("|i1", NpyType::int8, raw_bytes(std::vector<int8_t>{0, 1, 2, 100}));
  check("<u2", NpyType::uint16, raw_bytes(std::vector<uint16_t>{0, 1, 2, 100}));
  check("<i2", NpyType::int16, raw_bytes(std::vector<int16_t>{0, 1, 2, 100}));
  check("<u4", NpyType::uint32, raw_bytes(std::vector<uint32_t>{0, 1, 2, 100}));
  check("<i4", NpyType::int32, raw_bytes(std::vector<int32_t>{0, 1, 2, 100}));
  check("<u8", NpyType::uint64, raw_bytes(std::vector<uint64_t>{0, 1, 2, 100}));
  check("<i8", NpyType::int64, raw_bytes(std::vector<int64_t>{0, 1, 2, 100}));
  check("<f4", NpyType::float32, raw_bytes(std::vector<float>{0, 1, 2, 100}));
  check("<f8", NpyType::float64, raw_bytes(std::vector<double>{0, 1, 2, 100}));
  const NpyArray flags = parse_npy(npy_bytes(1, header("|b1", "(3,)"), {1, 0, 1}), "bool");
  EXPECT_EQ(flags.to_float(), (std::vector<float>{1, 0, 1}));
  const NpyArray negative = parse_npy(
      npy_bytes(1, header("<i2", "(2,)"), raw_bytes(std::vector<int16_t>{-3, -300})), "neg");
  EXPECT_EQ(negative.to_float(), (std::vector<float>{-3, -300}));
}

TEST(Npy, ScalarAndEmptyShapes) {
  const NpyArray scalar =
      parse_npy(npy_bytes(1, header("<f8", "()"), raw_bytes(std::vector<double>{2.5})), "s");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.to_float(), (std::vector<float>{2.5f}));
  const NpyArray empty = parse_npy(npy_bytes(1, header("<f4", "(0, 5)"), {}), "e");
  EXPECT_EQ(empty.size(), 0);
}

TEST(Npy, MalformedInputsAreRejectedWithTheirProblem) {
  const std::vector<uint8_t> four_floats = raw_bytes(std::vector<float>{1, 2, 3, 4});
  EXPECT_NE(parse_error({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0}).find("x.npy: not a .npy file"),
            std::string::npos);
  auto v4 = npy_bytes(2, header("<f4", "(4,)"), four_floats);
  v4[6] = 4;
  EXPECT_NE(parse_error(v4).find(".npy format version 4.0 is not supported"), std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, header(">f4", "(4,)"), four_floats))
                .find("dtype '>f4' is not supported (big-endian; convert with .astype('<f4'))"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, header("<c8", "(2,)"), four_floats))
                .find("dtype '<c8' is not supported"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, header("|O", "(4,)"), four_floats))
                .find("dtype '|O' is not supported"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, header("<f4", "(2, 2)", "True"), four_floats))
                .find("Fortran-order arrays are not supported"),
            std::string::npos);
  const std::vector<uint8_t> three_floats(four_floats.begin(), four_floats.end() - 4);
  EXPECT_NE(parse_error(npy_bytes(1, header("<f4", "(4,)"), three_floats))
                .find("holds 12 data bytes, its header (4 elements of <f4) says 16 (truncated)"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '<f4', 'shape': (4,), }", four_floats))
                .find("needs the keys 'descr', 'fortran_order' and 'shape'"),
            std::string::npos);
  EXPECT_NE(parse_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,)}",
                                  four_floats))
                .find("malformed .npy header (expected True or False)"),
            std::string::npos);
  EXPECT_NE(
      parse_error(npy_bytes(1, header("<f4", "(-4,)"), four_floats)).find("negative dimension"),
      std::string::npos);
  auto cut = npy_bytes(1, header("<f4", "(4,)"), four_floats);
  cut.resize(20);
  EXPECT_NE(parse_error(cut).find("x.npy: .npy header truncated"), std::string::npos);
}

#ifdef VMUNET_HAVE_IMPORTERS

TEST(Npz, StoredAndDeflatedMembersReadAlike) {
  test::TempDir dir;
  std::vector<float> image(64 * 64);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<float>(i % 97) / 96.0f;
  const std::vector<uint8_t> label(64 * 64, 3);
  const std::map<std::string, std::vector<uint8_t>> members{
      {"image.npy", test::npy_float32(image, 64, 64)},
      {"label.npy", npy_bytes(2, header("|u1", "(64, 64)"), label)}};
  for (bool deflate : {false, true}) {
    const std::string path = dir / (deflate ? "deflated.npz" : "stored.npz");
    test::write_zip(path, members, deflate);
    const auto arrays = read_npz(path);
    ASSERT_EQ(arrays.size(), 2u) << path;
    EXPECT_EQ(arrays.at("image").to_float(), image) << path;
    EXPECT_EQ(arrays.at("label").shape, (std::vector<int64_t>{64, 64}));
    EXPECT_EQ(arrays.at("label").data, label) << path;
  }
}

std::string npz_error(const std::string& path) {
  try {
    read_npz(path);
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

TEST(Npz, MalformedArchivesAreRejectedNamingTheMember) {
  test::TempDir dir;
  test::write_bytes(dir / "text.npz", {'n', 'o', 't', ' ', 'a', ' ', 'z', 'i', 'p'});
  EXPECT_NE(npz_error(dir / "text.npz").find("text.npz: cannot open as a .npz (zip) archive"),
            std::string::npos);

  test::write_zip(dir / "readme.npz", {{"README.txt", {'h', 'i'}}}, false);
  EXPECT_NE(npz_error(dir / "readme.npz").find("readme.npz:README.txt: member is not a .npy array"),
            std::string::npos);

  test::write_zip(dir / "bad.npz", {{"image.npy", {'n', 'o', 'p', 'e', 0, 0, 0, 0, 0, 0, 0}}},
                  true);
  EXPECT_NE(npz_error(dir / "bad.npz").find("bad.npz:image.npy: not a .npy file"),
            std::string::npos);

  // Flip one data byte of a stored member: the CRC no longer matches.
  const std::vector<float> values(256, 0.5f);
  test::write_zip(dir / "crc.npz", {{"image.npy", test::npy_float32(values, 16, 16)}}, false);
  std::vector<uint8_t> bytes = test::read_bytes(dir / "crc.npz");
  const std::vector<uint8_t> magic{0x93, 'N', 'U', 'M', 'P', 'Y'};
  const auto at = std::search(bytes.begin(), bytes.end(), magic.begin(), magic.end());
  ASSERT_LT(at + 128 + 3, bytes.end());
  at[128 + 3] ^= 0x01;  // the first float's exponent byte (its header is 128 bytes long)
  test::write_bytes(dir / "crc.npz", bytes);
  EXPECT_NE(npz_error(dir / "crc.npz").find("crc.npz:image.npy: damaged member"), std::string::npos)
      << npz_error(dir / "crc.npz");
}

#else

TEST(Npz, NeedsLibzip) { GTEST_SKIP() << "built without OpenCV and libzip"; }

#endif

}  // namespace
}  // namespace vmunet
