#include "worker/run_config.h"

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/sha256.h"

namespace vmunet {
namespace {

using json = nlohmann::json;

std::string type_name(const json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "true or false";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  return "null";
}

// A value fits the default's type; integers are accepted where a float is expected.
bool same_kind(const json& def, const json& v) {
  if (def.is_number_float()) return v.is_number();
  if (def.is_number_integer()) return v.is_number_integer();
  if (def.is_array()) {
    if (!v.is_array()) return false;
    if (def.empty()) return true;
    for (const auto& e : v)
      if (!same_kind(def[0], e)) return false;
    return true;
  }
  return def.type() == v.type();
}

// Overlays `user` on `base` (a copy of the defaults), checking keys and types against it.
void overlay(json& base, const json& user, const std::string& path) {
  if (!user.is_object()) throw Error(path + ": expected an object, found " + type_name(user));
  for (const auto& item : user.items()) {
    const std::string at = path.empty() ? item.key() : path + "." + item.key();
    if (!base.contains(item.key())) {
      std::string known;
      for (const auto& k : base.items()) known += (known.empty() ? "" : ", ") + k.key();
      throw Error(at + ": unknown key (known here: " + known + ")");
    }
    json& slot = base[item.key()];
    if (at == "model") {
      slot = model_config_to_json(model_config_from_json(item.value(), "model"));
    } else if (slot.is_object()) {
      overlay(slot, item.value(), at);
    } else {
      if (!same_kind(slot, item.value()))
        throw Error(at + ": expected " + type_name(slot) + ", found " + item.value().dump());
      slot = item.value();
    }
  }
}

json parse_override_value(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::parse_error&) {
    return text;  // a bare word such as bf16 is a string
  }
}

std::string one_of(const json& v, const std::string& path,
                   std::initializer_list<const char*> options) {
  const auto s = v.get<std::string>();
  std::string list;
  for (const char* o : options) {
    if (s == o) return s;
    list += (list.empty() ? "" : ", ") + std::string(o);
  }
  throw Error(path + ": expected one of " + list + ", found \"" + s + "\"");
}

double probability(const json& v, const std::string& path) {
  const double p = v.get<double>();
  if (p < 0 || p > 1) throw Error(path + ": expected a probability in [0, 1], found " + v.dump());
  return p;
}

int64_t at_least(const json& v, const std::string& path, int64_t lo) {
  const int64_t x = v.get<int64_t>();
  if (x < lo)
    throw Error(path + ": must be at least " + std::to_string(lo) + ", found " + v.dump());
  return x;
}

void flatten(const json& j, const std::string& prefix, std::ostringstream& out) {
  for (const auto& item : j.items()) {
    const std::string at = prefix.empty() ? item.key() : prefix + "." + item.key();
    if (item.value().is_object())
      flatten(item.value(), at, out);
    else
      out << "  " << at << std::string(at.size() < 32 ? 32 - at.size() : 1, ' ')
          << item.value().dump() << "\n";
  }
}

}  // namespace

json default_run_config() {
  return {
      {"name", "run"},
      {"seed", 42},
      {"model", model_config_to_json(ModelConfig{})},
      {"data",
       {{"path", ""},
        {"synthetic",
         {{"if_missing", false},
          {"task", "binary"},
          {"train", 200},
          {"test", 50},
          {"size", 64},
          {"seed", 1}}}}},
      {"train",
       {{"epochs", 300},
        {"batch_size", 32},
        {"eval_every", 30},
        {"max_steps_per_epoch", 0},
        {"device", "auto"},
        {"precision", "fp32"},
        {"checkpoint_every", 1},
        {"init", ""}}},
      {"optimizer", {{"lr", 1e-3}, {"betas", {0.9, 0.999}}, {"eps", 1e-8}, {"weight_decay", 1e-2}}},
      {"schedule", {{"t_max", 50}, {"eta_min", 1e-5}}},
      {"loss", {{"pixel_weight", 1.0}, {"dice_weight", 1.0}}},
      {"augment",
       {{"policy", "isic"},
        {"hflip", 0.5},
        {"vflip", 0.5},
        {"rotate", 0.5},
        {"rotation", "per_sample"},
        {"image_interpolation", "bilinear"}}},
      {"eval", {{"threshold", 0.5}, {"select", "last"}}},
  };
}

json resolve_run_config(const json& user, const std::vector<std::string>& overrides) {
  json resolved = default_run_config();
  overlay(resolved, user, "");
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("--set " + o + ": expected dotted.path=value");
    json patch;
    json* node = &patch;
    std::string path = o.substr(0, eq);
    std::istringstream parts(path);
    std::string key;
    std::vector<std::string> keys;
    while (std::getline(parts, key, '.')) keys.push_back(key);
    for (size_t i = 0; i + 1 < keys.size(); ++i) node = &(*node)[keys[i]];
    (*node)[keys.back()] = parse_override_value(o.substr(eq + 1));
    // The model section is replaced as a whole by overlay(); merge the override into it first.
    if (keys.front() == "model" && keys.size() > 1) {
      json model = resolved["model"];
      model.merge_patch(patch["model"]);
      if (keys[1] == "embed_dim") model.erase("dims");
      patch["model"] = model;
    }
    overlay(resolved, patch, "");
  }
  parse_run_config(resolved);  // value checks (enums, ranges) fail here, before any work
  return resolved;
}

json load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open run config");
  json user;
  try {
    user = json::parse(in);
  } catch (const json::parse_error& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
  try {
    return resolve_run_config(user, overrides);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

std::string run_key(const json& resolved) { return sha256_hex(resolved.dump()).substr(0, 16); }

RunConfig parse_run_config(const json& r) {
  RunConfig c;
  c.name = r["name"].get<std::string>();
  c.seed = r["seed"].get<uint64_t>();
  c.model = model_config_from_json(r["model"], "model");

  const auto& d = r["data"];
  c.data_path = d["path"].get<std::string>();
  const auto& s = d["synthetic"];
  c.synthesize_if_missing = s["if_missing"].get<bool>();
  c.synthetic_task = one_of(s["task"], "data.synthetic.task", {"binary", "multiclass"});
  c.synthetic_train = at_least(s["train"], "data.synthetic.train", 1);
  c.synthetic_test = at_least(s["test"], "data.synthetic.test", 1);
  c.synthetic_size = at_least(s["size"], "data.synthetic.size", 32);
  c.synthetic_seed = s["seed"].get<uint64_t>();

  const auto& t = r["train"];
  c.epochs = at_least(t["epochs"], "train.epochs", 1);
  c.batch_size = at_least(t["batch_size"], "train.batch_size", 1);
  c.eval_every = at_least(t["eval_every"], "train.eval_every", 0);
  c.max_steps_per_epoch = at_least(t["max_steps_per_epoch"], "train.max_steps_per_epoch", 0);
  c.device = one_of(t["device"], "train.device", {"auto", "cpu", "cuda"});
  const auto precision = one_of(t["precision"], "train.precision", {"fp32", "tf32", "bf16"});
  c.precision = precision == "fp32"   ? Precision::fp32
                : precision == "tf32" ? Precision::tf32
                                      : Precision::bf16;
  c.checkpoint_every = at_least(t["checkpoint_every"], "train.checkpoint_every", 1);
  c.pretrained = t["init"].get<std::string>();

  const auto& o = r["optimizer"];
  c.lr = o["lr"].get<double>();
  if (o["betas"].size() != 2) throw Error("optimizer.betas: expected two numbers");
  c.beta1 = o["betas"][0].get<double>();
  c.beta2 = o["betas"][1].get<double>();
  c.eps = o["eps"].get<double>();
  c.weight_decay = o["weight_decay"].get<double>();
  c.t_max = r["schedule"]["t_max"].get<double>();
  if (c.t_max <= 0) throw Error("schedule.t_max: must be positive");
  c.eta_min = r["schedule"]["eta_min"].get<double>();

  c.loss_ce_or_bce_weight = r["loss"]["pixel_weight"].get<double>();
  c.loss_dice_weight = r["loss"]["dice_weight"].get<double>();

  const auto& a = r["augment"];
  c.augment_policy = one_of(a["policy"], "augment.policy", {"isic", "synapse", "none"});
  c.hflip = probability(a["hflip"], "augment.hflip");
  c.vflip = probability(a["vflip"], "augment.vflip");
  c.rotate = probability(a["rotate"], "augment.rotate");
  c.rotation =
      one_of(a["rotation"], "augment.rotation", {"per_sample", "fixed_angle"}) == "per_sample"
          ? RotationMode::per_sample
          : RotationMode::fixed_angle;
  c.image_interpolation = one_of(a["image_interpolation"], "augment.image_interpolation",
                                 {"bilinear", "nearest"}) == "bilinear"
                              ? Interpolation::bilinear
                              : Interpolation::nearest;
  c.threshold = probability(r["eval"]["threshold"], "eval.threshold");
  c.eval_select = one_of(r["eval"]["select"], "eval.select", {"last", "min_test_loss"}) == "last"
                      ? EvalSelect::last
                      : EvalSelect::min_test_loss;
  // The test loss is computed for the binary (ISIC) evaluation only, where the official code
  // selects by it.
  if (c.eval_select == EvalSelect::min_test_loss && c.model.num_classes != 1)
    throw Error("eval.select: min_test_loss needs a binary task (model.num_classes 1); use last");
  return c;
}

std::string config_table(const json& resolved) {
  std::ostringstream out;
  flatten(resolved, "", out);
  return out.str();
}

}  // namespace vmunet
