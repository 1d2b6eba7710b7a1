// parse_json's limits (depth, duplicate keys, number overflow) and brief()'s bounded rendering.
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_parse.h"

namespace vmunet {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_json(text, "f.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JsonParse, ParsesOrdinaryJson) {
  const auto j = parse_json(R"({"a": {"b": [1, 2, {"c": true}]}, "d": "x"})", "f.json");
  EXPECT_EQ(j["a"]["b"][2]["c"], true);
  EXPECT_EQ(j["d"], "x");
}

TEST(JsonParse, RefusesDuplicateKeysWithTheirPath) {
  EXPECT_EQ(error_of(R"({"seed": 1, "seed": 2})"),
            "f.json: duplicate key seed (JSON would silently keep the last); remove one");
  EXPECT_EQ(error_of(R"({"train": {"epochs": 1, "batch_size": 2, "epochs": 3}})"),
            "f.json: duplicate key train.epochs (JSON would silently keep the last); remove one");
  EXPECT_EQ(error_of(R"({"a": [1, {"x": 0}, {"k": 1, "k": 2}]})"),
            "f.json: duplicate key a[2].k (JSON would silently keep the last); remove one");
  // The same key in sibling objects is fine.
  EXPECT_EQ(error_of(R"({"a": {"k": 1}, "b": {"k": 1}})"), "");
}

TEST(JsonParse, RefusesDeepNestingWithoutOverflowingTheStack) {
  const std::string deep =
      "{\"train\": {\"epochs\": " + std::string(100000, '[') + std::string(100000, ']') + "}}";
  const std::string message = error_of(deep);
  EXPECT_EQ(message.rfind("f.json: JSON nested deeper than 64 levels at train.epochs[0][0][0]", 0),
            0u)
      << message;
  EXPECT_LT(message.size(), 150u);
  EXPECT_EQ(error_of(std::string(64, '[') + std::string(64, ']')), "");
}

TEST(JsonParse, NamesTheKeyOfANumberThatOverflows) {
  EXPECT_EQ(error_of(R"({"optimizer": {"lr": 1e400}})"),
            "f.json: number overflow parsing '1e400' at optimizer.lr");
}

TEST(JsonParse, SyntaxErrorsSayWhere) {
  EXPECT_EQ(error_of("{\"a\": 1,}"),
            "f.json: not valid JSON (parse error at line 1, column 9: syntax error while parsing "
            "object key - unexpected '}'; expected string literal)");
}

TEST(JsonParse, BriefCutsLongValues) {
  nlohmann::json big = nlohmann::json::array();
  for (int i = 0; i < 50000; ++i) big.push_back(i);
  const std::string b = brief(big);
  EXPECT_EQ(b.substr(0, 10), "[0,1,2,3,4");
  EXPECT_EQ(b.substr(b.size() - 17), "... (50000 items)");
  EXPECT_LE(b.size(), 100u);
  EXPECT_EQ(brief(nlohmann::json(std::string(1000, 'x'))).size(), 80u + 3);
  EXPECT_EQ(brief(nlohmann::json::parse(R"({"a":[1,2]})")), R"({"a":[1,2]})");
}

}  // namespace
}  // namespace vmunet
