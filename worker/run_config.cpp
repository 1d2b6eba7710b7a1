#include "worker/run_config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/json_parse.h"
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

// `v` (of the same kind as `def`) with integers turned into floats where `def` holds floats, so
// that 1 and 1.0 resolve, print and hash alike.
json as_kind(const json& def, const json& v) {
  if (def.is_number_float()) return v.get<double>();
  if (def.is_array() && !def.empty()) {
    json out = json::array();
    for (const auto& e : v) out.push_back(as_kind(def[0], e));
    return out;
  }
  return v;
}

// Overlays `user` on `base` (a copy of the defaults), checking keys and types against it.
void overlay(json& base, const json& user, const std::string& path) {
  if (!user.is_object()) throw Error(path + ": expected an object, found " + type_name(user));
  for (const auto& item : user.items()) {
    // Keys are shown cut: a config may hold a megabyte-long one.
    const std::string key = item.key().size() <= 80 ? item.key() : item.key().substr(0, 80) + "...";
    const std::string at = path.empty() ? key : path + "." + key;
    if (!base.contains(item.key())) {
      std::string known;
      for (const auto& k : base.items()) known += (known.empty() ? "" : ", ") + k.key();
      throw Error(at + ": unknown key (known here: " + known + ")");
    }
    json& slot = base[item.key()];
    if (at == "model") {
      // Model files may carry a fixture's input_hw and batch; a run config takes neither.
      for (const char* key : {"input_hw", "batch"})
        if (item.value().is_object() && item.value().contains(key))
          throw Error(std::string("model.") + key +
                      ": unknown key in a run config (the input size comes from the dataset, "
                      "the batch from train.batch_size)");
      slot = model_config_to_json(model_config_from_json(item.value(), "model"));
    } else if (slot.is_object()) {
      overlay(slot, item.value(), at);
    } else {
      if (!same_kind(slot, item.value()))
        throw Error(at + ": expected " + type_name(slot) + ", found " + type_name(item.value()) +
                    " " + brief(item.value()));
      slot = as_kind(slot, item.value());
    }
  }
}

json parse_override_value(const std::string& text, const std::string& where) {
  try {
    return parse_json(text, where);
  } catch (const Error&) {
    // Only a bare word such as bf16 is taken as a string; what starts like JSON must be JSON.
    if (text.empty() || std::string("[{\"-0123456789").find(text.front()) != std::string::npos)
      throw;
    return text;
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
  throw Error(path + ": expected one of " + list + ", found " + brief(v));
}

double probability(const json& v, const std::string& path) {
  const double p = v.get<double>();
  if (p < 0 || p > 1) throw Error(path + ": expected a probability in [0, 1], found " + brief(v));
  return p;
}

// Integers between lo and hi: the limits keep absurd values (a batch of 2^63) from overflowing
// step counts into a run that silently trains nothing.
int64_t in_range(const json& v, const std::string& path, int64_t lo, int64_t hi) {
  const bool fits = v.is_number_integer() &&
                    !(v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi));
  const int64_t x = fits ? v.get<int64_t>() : lo - 1;
  if (!fits || x < lo || x > hi)
    throw Error(path + ": must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi) +
                ", found " + brief(v));
  return x;
}

// Finite numbers in [lo, hi]; `open_low` excludes lo itself.
double number_in(const json& v, const std::string& path, double lo, double hi,
                 bool open_low = false) {
  const double x = v.get<double>();
  if (std::isfinite(x) && x >= lo && x <= hi && !(open_low && x == lo)) return x;
  const std::string range = std::isinf(hi) ? (open_low ? "greater than " : "at least ") + brief(lo)
                                           : std::string("in ") + (open_low ? "(" : "[") +
                                                 brief(lo) + ", " + brief(hi) + "]";
  throw Error(path + ": must be a number " + range + ", found " + brief(v));
}

constexpr int64_t kMaxSeed = INT64_MAX;

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
        {"recompute", "none"},
        {"cuda_graph", "auto"},
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
    (*node)[keys.back()] = parse_override_value(o.substr(eq + 1), "--set " + path);
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
  if (std::filesystem::is_directory(path))
    throw Error(path + ": is a directory; give the run config's .json file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open run config");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const json user = parse_json(text, path);
  try {
    return resolve_run_config(user, overrides);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

std::string run_key(const json& resolved) {
  // Where, under what name and how often a run logs or saves: not part of the experiment. A new
  // key belongs here only if it changes neither the weights trained nor the metrics reported.
  static const std::pair<const char*, const char*> kNotIdentity[] = {{"", "name"},
                                                                     {"train", "device"},
                                                                     {"train", "checkpoint_every"},
                                                                     {"train", "recompute"},
                                                                     {"train", "cuda_graph"}};
  json identity = resolved;
  if (identity.contains("train") && identity["train"].is_object() &&
      resolved.value(json::json_pointer("/eval/select"), "last") == "last")
    identity["train"].erase("eval_every");
  for (const auto& [section, key] : kNotIdentity) {
    json* node = &identity;
    if (*section) {
      const auto it = identity.find(section);
      if (it == identity.end() || !it->is_object()) continue;
      node = &*it;
    }
    // Under eval.select min_test_loss the evaluation epochs choose the reported metrics.
    const json select = resolved.contains("eval") ? resolved["eval"].value("select", "") : "";
    if (std::string(key) == "eval_every" && select == "min_test_loss") continue;
    node->erase(key);
  }
  return sha256_hex(identity.dump()).substr(0, 16);
}

Precision parse_precision(const std::string& text, const std::string& where) {
  if (text == "fp32") return Precision::fp32;
  if (text == "tf32") return Precision::tf32;
  if (text == "bf16") return Precision::bf16;
  throw Error(where + ": expected one of fp32, tf32, bf16, found " + brief(json(text)));
}

CudaGraph parse_cuda_graph(const std::string& text, const std::string& where) {
  if (text == "auto") return CudaGraph::automatic;
  if (text == "on") return CudaGraph::on;
  if (text == "off") return CudaGraph::off;
  throw Error(where + ": expected one of auto, on, off, found " + brief(json(text)));
}

RunConfig parse_run_config(const json& r) {
  RunConfig c;
  c.name = r["name"].get<std::string>();
  if (r["name"].get_ref<const std::string&>().size() > 200)
    throw Error("name: at most 200 characters, found " + brief(r["name"]));
  c.seed = static_cast<uint64_t>(in_range(r["seed"], "seed", 0, kMaxSeed));
  c.model = model_config_from_json(r["model"], "model");

  const auto& d = r["data"];
  c.data_path = d["path"].get<std::string>();
  const auto& s = d["synthetic"];
  c.synthesize_if_missing = s["if_missing"].get<bool>();
  c.synthetic_task = one_of(s["task"], "data.synthetic.task", {"binary", "multiclass"});
  c.synthetic_train = in_range(s["train"], "data.synthetic.train", 1, 100000);
  c.synthetic_test = in_range(s["test"], "data.synthetic.test", 1, 100000);
  c.synthetic_size = in_range(s["size"], "data.synthetic.size", 32, 4096);
  c.synthetic_seed = static_cast<uint64_t>(in_range(s["seed"], "data.synthetic.seed", 0, kMaxSeed));

  const auto& t = r["train"];
  c.epochs = in_range(t["epochs"], "train.epochs", 1, 100000);
  c.batch_size = in_range(t["batch_size"], "train.batch_size", 1, 65536);
  c.eval_every = in_range(t["eval_every"], "train.eval_every", 0, 100000);
  c.max_steps_per_epoch =
      in_range(t["max_steps_per_epoch"], "train.max_steps_per_epoch", 0, 1000000000);
  c.device = one_of(t["device"], "train.device", {"auto", "cpu", "cuda"});
  c.precision = parse_precision(t["precision"].get<std::string>(), "train.precision");
  c.recompute_blocks = one_of(t["recompute"], "train.recompute", {"none", "blocks"}) == "blocks";
  c.cuda_graph = parse_cuda_graph(t["cuda_graph"].get<std::string>(), "train.cuda_graph");
  c.checkpoint_every = in_range(t["checkpoint_every"], "train.checkpoint_every", 1, 100000);
  c.pretrained = t["init"].get<std::string>();

  const auto& o = r["optimizer"];
  // LibTorch would reject these mid-run without naming the key.
  c.lr = number_in(o["lr"], "optimizer.lr", 0, HUGE_VAL, true);  // huge: a divergence test
  if (o["betas"].size() != 2)
    throw Error("optimizer.betas: expected two numbers, found " + brief(o["betas"]));
  c.beta1 = number_in(o["betas"][0], "optimizer.betas[0]", 0, 0.999999);
  c.beta2 = number_in(o["betas"][1], "optimizer.betas[1]", 0, 0.999999);
  c.eps = number_in(o["eps"], "optimizer.eps", 0, 1, true);
  c.weight_decay = number_in(o["weight_decay"], "optimizer.weight_decay", 0, 10);
  c.t_max = static_cast<double>(in_range(r["schedule"]["t_max"], "schedule.t_max", 1, 100000));
  c.eta_min = number_in(r["schedule"]["eta_min"], "schedule.eta_min", 0, c.lr);

  c.loss_ce_or_bce_weight = number_in(r["loss"]["pixel_weight"], "loss.pixel_weight", 0, 1000);
  c.loss_dice_weight = number_in(r["loss"]["dice_weight"], "loss.dice_weight", 0, 1000);

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
