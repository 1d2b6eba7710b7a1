// Run configs: the paper's defaults, dotted-path errors for unknown keys and wrong types, --set
// overrides, and a run key that depends on the values only.
#include <gtest/gtest.h>

#include "common/error.h"
#include "worker/run_config.h"

namespace vmunet {
namespace {

using json = nlohmann::json;

std::string error_of(const json& user, const std::vector<std::string>& sets = {}) {
  try {
    resolve_run_config(user, sets);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, DefaultsAreThePapersProtocol) {
  const auto c = parse_run_config(resolve_run_config(json::object()));
  EXPECT_EQ(c.epochs, 300);
  EXPECT_EQ(c.batch_size, 32);
  EXPECT_DOUBLE_EQ(c.lr, 1e-3);
  EXPECT_DOUBLE_EQ(c.beta1, 0.9);
  EXPECT_DOUBLE_EQ(c.beta2, 0.999);
  EXPECT_DOUBLE_EQ(c.eps, 1e-8);
  EXPECT_DOUBLE_EQ(c.weight_decay, 1e-2);
  EXPECT_DOUBLE_EQ(c.t_max, 50);
  EXPECT_DOUBLE_EQ(c.eta_min, 1e-5);
  EXPECT_DOUBLE_EQ(c.model.drop_path_rate, 0.2);
  EXPECT_EQ(c.model.depths_decoder, (std::vector<int64_t>{2, 2, 2, 1}));
  EXPECT_EQ(c.rotation, RotationMode::per_sample);
  EXPECT_EQ(c.image_interpolation, Interpolation::bilinear);
  const auto official = parse_run_config(resolve_run_config(
      {{"augment", {{"rotation", "fixed_angle"}, {"image_interpolation", "nearest"}}}}));
  EXPECT_EQ(official.rotation, RotationMode::fixed_angle);
  EXPECT_EQ(official.image_interpolation, Interpolation::nearest);
}

TEST(RunConfig, UnknownKeysAndWrongTypesNameTheirPath) {
  EXPECT_NE(error_of({{"train", {{"epoch", 3}}}}).find("train.epoch: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"epochs", "ten"}}}}).find("train.epochs: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of({{"optimizer", {{"lr", true}}}}).find("optimizer.lr: expected a number"),
            std::string::npos);
  EXPECT_NE(error_of({{"model", {{"depth", {2, 2, 2, 2}}}}}).find("model.depth: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of({{"train", {{"precision", "fp16"}}}}).find("train.precision: expected one of"),
            std::string::npos);
  EXPECT_NE(error_of({{"augment", {{"hflip", 1.5}}}}).find("augment.hflip"), std::string::npos);
}

TEST(RunConfig, SetOverridesByDottedPath) {
  const auto r = resolve_run_config(json::object(), {"train.epochs=7", "train.precision=tf32",
                                                     "model.embed_dim=32", "optimizer.lr=0.01"});
  const auto c = parse_run_config(r);
  EXPECT_EQ(c.epochs, 7);
  EXPECT_EQ(c.precision, Precision::tf32);
  EXPECT_EQ(c.model.dims, (std::vector<int64_t>{32, 64, 128, 256}));
  EXPECT_DOUBLE_EQ(c.lr, 0.01);
  EXPECT_NE(error_of(json::object(), {"train.nope=1"}).find("train.nope: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(json::object(), {"train.epochs"}).find("expected dotted.path=value"),
            std::string::npos);
}

TEST(RunConfig, RunKeyDependsOnValuesNotOnSpelling) {
  const auto a = resolve_run_config({{"seed", 1}, {"train", {{"epochs", 5}, {"batch_size", 8}}}});
  const auto b = resolve_run_config({{"train", {{"batch_size", 8}, {"epochs", 5}}}, {"seed", 1}});
  const auto c = resolve_run_config({{"seed", 2}, {"train", {{"epochs", 5}, {"batch_size", 8}}}});
  EXPECT_EQ(run_key(a), run_key(b));
  EXPECT_NE(run_key(a), run_key(c));
  EXPECT_EQ(run_key(a).size(), 16u);
  // An explicit default is the same run as an omitted one.
  EXPECT_EQ(run_key(resolve_run_config({{"seed", 42}})),
            run_key(resolve_run_config(json::object())));
  // An integer where the default is a float resolves to that float.
  const auto one = resolve_run_config({{"optimizer", {{"lr", 1}, {"betas", {0, 0.5}}}}});
  EXPECT_TRUE(one["optimizer"]["lr"].is_number_float());
  EXPECT_EQ(one["optimizer"]["betas"].dump(), "[0.0,0.5]");
  EXPECT_EQ(run_key(one),
            run_key(resolve_run_config({{"optimizer", {{"lr", 1.0}, {"betas", {0.0, 0.5}}}}})));
}

TEST(RunConfig, RunKeyIgnoresNameDeviceAndCadence) {
  const auto base = resolve_run_config(json::object());
  const std::string key = run_key(base);
  for (const char* same :
       {"name=other", "train.device=cpu", "train.eval_every=3", "train.checkpoint_every=7",
        "train.recompute=blocks", "train.cuda_graph=off"})
    EXPECT_EQ(run_key(resolve_run_config(json::object(), {same})), key) << same;
  for (const char* other :
       {"optimizer.lr=0.002", "seed=43", "train.epochs=299", "train.batch_size=16",
        "train.precision=bf16", "train.max_steps_per_epoch=5", "train.init=vmamba.pth",
        "model.drop_path_rate=0.1", "data.path=b.h5", "schedule.t_max=40", "loss.dice_weight=0.5",
        "augment.hflip=0", "eval.threshold=0.4", "eval.select=min_test_loss"})
    EXPECT_NE(run_key(resolve_run_config(json::object(), {other})), key) << other;
  // Under min_test_loss the evaluated epochs decide which evaluation is reported.
  const auto min_loss = resolve_run_config({{"eval", {{"select", "min_test_loss"}}}});
  EXPECT_NE(run_key(resolve_run_config(min_loss, {"train.eval_every=3"})), run_key(min_loss));
}

}  // namespace
}  // namespace vmunet
