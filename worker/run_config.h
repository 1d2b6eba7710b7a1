// A training run's configuration: one JSON validated against the paper's defaults, which double as
// the schema (every key a user may set appears there with its type). The resolved JSON (defaults
// merged with the file and `--set` overrides) is what gets printed, hashed and stored with the run.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "model/model_config.h"
#include "worker/config_enums.h"

namespace vmunet {

// The paper's protocol (DESIGN §3) for ISIC; configs override what differs (Synapse, quickstart).
nlohmann::json default_run_config();

// Merges `user` over the defaults, then applies each "dotted.path=value" (value parsed as JSON,
// else taken as a string). Unknown keys and wrong types throw vmunet::Error naming the dotted path.
nlohmann::json resolve_run_config(const nlohmann::json& user,
                                  const std::vector<std::string>& overrides = {});

// Reads a run config file (errors name the file) and resolves it.
nlohmann::json load_run_config(const std::string& path,
                               const std::vector<std::string>& overrides = {});

// The run's identity: a hex digest of the canonical JSON of what defines the experiment, i.e.
// what it trains and how it is measured: `seed`, `model`, `data` (path and synthetic recipe),
// `train` (epochs, batch_size, max_steps_per_epoch, precision, init), `optimizer`, `schedule`,
// `loss`, `augment` and `eval`. Left out, so that a relaunch elsewhere or with another cadence
// finds its finished runs: `name`, `train.device`, `train.checkpoint_every`, `train.recompute`
// (memory, not results), `train.cuda_graph` (speed, not results), and `train.eval_every` under
// `eval.select: last` (the final evaluation is always made; under min_test_loss the evaluated
// epochs decide what is reported). Equal configs give equal keys whatever their key order,
// formatting, or an integer written where a float is expected.
std::string run_key(const nlohmann::json& resolved);

// "fp32", "tf32" or "bf16"; anything else throws vmunet::Error naming `where`.
Precision parse_precision(const std::string& text, const std::string& where);

// "auto", "on" or "off" (train.cuda_graph, `vmunet bench --cuda-graph`); anything else throws
// vmunet::Error naming `where`.
CudaGraph parse_cuda_graph(const std::string& text, const std::string& where);

// Typed view of a resolved config.
struct RunConfig {
  std::string name;
  uint64_t seed = 0;
  ModelConfig model;

  std::string data_path;  // prepared HDF5 file
  bool synthesize_if_missing = false;
  std::string synthetic_task;
  int64_t synthetic_train = 0, synthetic_test = 0, synthetic_size = 0;
  uint64_t synthetic_seed = 0;

  int64_t epochs = 0, batch_size = 0, eval_every = 0, max_steps_per_epoch = 0;
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0, t_max = 0, eta_min = 0;
  Precision precision = Precision::fp32;
  bool recompute_blocks = false;  // train.recompute: blocks (VMUNetImpl::set_recompute) or none
  CudaGraph cuda_graph = CudaGraph::automatic;
  std::string device;  // "auto", "cpu" or "cuda"
  int64_t checkpoint_every = 0;
  std::string pretrained;  // VMamba checkpoint for the encoder and decoder (Table III), or empty

  double loss_ce_or_bce_weight = 1, loss_dice_weight = 1;

  std::string
      augment_policy;  // isic (flips + rotation), synapse (rot90/flip or small rotation), none
  double hflip = 0, vflip = 0, rotate = 0;
  RotationMode rotation = RotationMode::per_sample;
  // Rotated images: bilinear (smoother) or nearest (the official code's torchvision default).
  Interpolation image_interpolation = Interpolation::bilinear;

  double threshold = 0.5;
  EvalSelect eval_select = EvalSelect::last;
};

RunConfig parse_run_config(const nlohmann::json& resolved);

// "key  value" lines of the resolved config, flattened to dotted paths, for the log before step 0.
std::string config_table(const nlohmann::json& resolved);

}  // namespace vmunet
