#include "worker/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "model/pretrained.h"
#include "model/vmunet.h"
#include "storage/dataset_tensors.h"
#include "storage/progress.h"
#include "storage/run_environment.h"
#include "storage/synthetic.h"
#include "worker/augment.h"
#include "worker/autocast.h"
#include "worker/checkpoint.h"
#include "worker/data_pipeline.h"
#include "worker/device.h"
#include "worker/eval_select.h"
#include "worker/evaluate.h"
#include "worker/gradient_reducer.h"
#include "worker/losses.h"
#include "worker/lr_schedule.h"
#include "worker/optimizer.h"
#include "worker/run_config.h"

namespace vmunet {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// The dataset file, made first if the config asks for synthetic data and it is missing.
std::string ensure_dataset(const RunConfig& cfg, Communicator& comm) {
  if (cfg.data_path.empty())
    throw Error("data.path: no dataset file given (prepare one with `vmunet prepare`)");
  if (!fs::exists(cfg.data_path)) {
    if (!cfg.synthesize_if_missing)
      throw Error(cfg.data_path +
                  ": dataset file not found (prepare it with `vmunet prepare`, or set "
                  "data.synthetic.if_missing)");
    if (comm.rank() == 0) {
      SyntheticOptions o;
      o.task = parse_task(cfg.synthetic_task, "data.synthetic.task");
      o.train = cfg.synthetic_train;
      o.test = cfg.synthetic_test;
      o.size = static_cast<int>(cfg.synthetic_size);
      o.seed = cfg.synthetic_seed;
      spdlog::info("{}: not found; writing a synthetic {} dataset ({} train, {} test, {}x{})",
                   cfg.data_path, cfg.synthetic_task, o.train, o.test, o.size, o.size);
      if (fs::path(cfg.data_path).has_parent_path())
        fs::create_directories(fs::path(cfg.data_path).parent_path());
      prepare_synthetic(o, cfg.data_path);
    }
    comm.barrier();
  }
  return cfg.data_path;
}

// The loss of this rank's share of a global batch, scaled so that the gradients summed over ranks
// are those of the global-batch loss; `reported` is this rank's share of the global loss value.
// The softmax Dice pools its sums over the whole global batch, so every rank differentiates the
// global Dice through its own sums.
struct RankLoss {
  torch::Tensor backward, reported;
};

RankLoss rank_loss(VMUNet& model, const torch::Tensor& logits, const torch::Tensor& target,
                   Task task, const LossWeights& w, double share, Communicator& comm,
                   torch::Tensor& nonfinite) {
  if (task == Task::binary) {
    // NaN probabilities would trip BCE's range check (a device assert on CUDA); they are replaced
    // here and the divergence is caught from `nonfinite` at the end of the epoch.
    auto probs = model->output(logits);
    nonfinite.logical_or_(probs.isfinite().all().logical_not());
    auto loss = share * bce_dice_loss(torch::nan_to_num(probs, 0.5), target, w);
    return {loss, loss.detach()};
  }
  auto local = softmax_dice_sums(logits, target);
  auto global = local.detach().clone();
  comm.all_reduce_sum(global);
  auto dice = dice_loss_from_sums(local + (global - local.detach()));
  auto ce = share * w.data * torch::nn::functional::cross_entropy(logits, target);
  return {ce + w.dice * dice, (ce + share * w.dice * dice).detach()};
}

// The test split's metrics (ISIC confusion or Synapse volumes), logged by the leader and recorded
// as the evaluation after `epoch`.
EvalResult evaluate_test(VMUNet& model, const DatasetTensors& data, const RunConfig& cfg,
                         Communicator& comm, RunRecorder* rec, const std::string& key,
                         int64_t epoch) {
  const Task task = data.meta.task;
  const EvalResult ev =
      task == Task::binary
          ? evaluate_binary(model, network_input(data.test.images, data.meta.test_norm, task),
                            data.test.masks, cfg.threshold, cfg.batch_size, comm,
                            {cfg.loss_ce_or_bce_weight, cfg.loss_dice_weight})
          : evaluate_volumes(model, data.volumes, data.meta, data.meta.resolution, cfg.batch_size,
                             comm);
  if (comm.rank() == 0) {
    std::string line;
    for (const auto& [k, v] : ev.metrics)
      if (k.find('/') == std::string::npos)  // pixel counts print as integers, scores as 0.xxxx
        line += v == std::floor(v) && v > 1 ? fmt::format("  {} {:.0f}", k, v)
                                            : fmt::format("  {} {:.4f}", k, v);
    spdlog::info("test after epoch {}:{}", epoch, line);
  }
  if (rec)
    for (const auto& [k, v] : ev.metrics) rec->evaluation(key, epoch, "test", k, v);
  return ev;
}

// The run's reported test metrics, with the per-case rows.
void record_final(RunRecorder* rec, const std::string& key, const EvalResult& ev) {
  if (!rec) return;
  for (const auto& [k, v] : ev.metrics) rec->metric(key, "test", k, v);
  for (const auto& [c, values] : ev.cases)
    for (const auto& [k, v] : values) rec->case_metric(key, "test", c, k, v);
}

}  // namespace

TrainResult train_run(const TrainRequest& req) {
  auto local_comm = make_local_communicator();
  Communicator& comm = req.comm ? *req.comm : *local_comm;
  const bool leader = comm.rank() == 0;
  RunRecorder* rec = leader ? req.recorder : nullptr;
  const RunConfig cfg = parse_run_config(req.config);

  TrainResult result;
  result.run_key = run_key(req.config);
  const std::string run_dir = (fs::path(req.runs_dir) / result.run_key).string();
  if (!req.resume && fs::exists(fs::path(run_dir) / "checkpoints") &&
      !fs::is_empty(fs::path(run_dir) / "checkpoints"))
    throw Error(
        run_dir +
        ": this run already has checkpoints; pass --resume to continue it, or remove the folder");
  const torch::Device device = pick_device(cfg.device, comm.rank());
  set_precision(cfg.precision, device);
  if (leader) {
    fs::create_directories(run_dir);
    write_file_atomically(run_dir + "/config.json", req.config.dump(2) + "\n");
    spdlog::info("run {} ({}), {} on {}\n{}", result.run_key, cfg.name, comm.describe(),
                 device.str(), config_table(req.config));
  }
  if (rec)
    rec->started({result.run_key, cfg.name, req.sweep, req.config.dump(), host_name(),
                  device_name(device) + " x" + std::to_string(comm.size()), code_version(),
                  environment_json(device_name(device))});

  try {
    const auto data = load_dataset_tensors(ensure_dataset(cfg, comm), device);
    const Task task = data.meta.task;
    const int64_t expected_classes = task == Task::binary ? 1 : data.meta.num_classes();
    if (cfg.model.num_classes != expected_classes)
      throw Error("model.num_classes is " + std::to_string(cfg.model.num_classes) + " but " +
                  cfg.data_path + " is a " + task_name(task) + " dataset needing " +
                  std::to_string(expected_classes));
    const auto train_x = network_input(data.train.images, data.meta.train_norm, task);
    const auto train_y = network_target(data.train.masks, task);
    const int64_t N = train_x.size(0);
    if (cfg.batch_size < comm.size())
      throw Error("train.batch_size (" + std::to_string(cfg.batch_size) +
                  ") must be at least the number of ranks (" + std::to_string(comm.size()) + ")");

    torch::manual_seed(cfg.seed);
    VMUNet model(cfg.model);
    model->to(device);
    if (!cfg.pretrained.empty()) {
      const auto report = load_pretrained(model, cfg.pretrained);
      if (leader) {
        spdlog::info("pretrained {}: {}", cfg.pretrained, report.summary());
        for (const auto& key : report.skipped) spdlog::info("  skipped {}", key);
      }
    }
    broadcast_tensors(model->parameters(), comm);
    auto optimizer =
        make_adamw(model->parameters(), {cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay});
    GradientReducer reducer(model->parameters(), comm);
    const CosineSchedule schedule{cfg.lr, cfg.eta_min, static_cast<int64_t>(cfg.t_max)};
    const LossWeights loss_w{cfg.loss_ce_or_bce_weight, cfg.loss_dice_weight};
    IsicAugmentConfig isic_aug;
    isic_aug.hflip = cfg.hflip;
    isic_aug.vflip = cfg.vflip;
    isic_aug.rotate = cfg.rotate;
    isic_aug.rotation = cfg.rotation;
    isic_aug.image_interpolation = cfg.image_interpolation;
    isic_aug.fixed_angle = draw_fixed_angle(cfg.seed);

    int64_t start_epoch = 0;
    if (req.resume) {
      if (auto ckpt = load_latest_checkpoint(run_dir + "/checkpoints", *model, *optimizer)) {
        start_epoch = ckpt->epoch;
        if (leader) spdlog::info("resumed from {} (epoch {})", ckpt->path, start_epoch);
      }
    }
    EvalSelection selection(cfg.eval_select, run_dir + "/selected_evaluation.json", req.resume,
                            start_epoch);

    const int64_t steps_full = (N + cfg.batch_size - 1) / cfg.batch_size;
    const int64_t steps =
        cfg.max_steps_per_epoch > 0 ? std::min(steps_full, cfg.max_steps_per_epoch) : steps_full;
    const auto run_start = Clock::now();
    for (int64_t epoch = start_epoch; epoch < cfg.epochs; ++epoch) {
      const auto t0 = Clock::now();
      const double lr = cosine_annealing_lr(schedule, epoch);
      set_lr(*optimizer, lr);
      torch::manual_seed(cfg.seed * 7919 + epoch * 131 + comm.rank());  // drop path
      model->train();
      const auto order = epoch_order(N, cfg.seed, epoch).to(device);
      auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device));
      int64_t images = 0, steps_done = 0;
      auto nonfinite = torch::zeros({}, torch::TensorOptions().dtype(torch::kBool).device(device));
      // Only the leader draws: under mpirun every rank's stdout may be a terminal.
      std::unique_ptr<ProgressBar> bar;
      if (leader)
        bar =
            std::make_unique<ProgressBar>(fmt::format("epoch {}/{}", epoch + 1, cfg.epochs), steps);
      for (int64_t step = 0; step < steps; ++step) {
        const int64_t g0 = step * cfg.batch_size, gn = std::min(cfg.batch_size, N - g0);
        if (gn < comm.size()) break;  // a last batch too small to give every rank a sample
        const auto [b, e] = rank_share(gn, comm.rank(), comm.size());
        const auto idx = order.narrow(0, g0 + b, e - b);
        auto x = train_x.index_select(0, idx), y = train_y.index_select(0, idx);
        auto gen = augment_generator(cfg.seed, epoch, step);
        if (cfg.augment_policy == "isic") {
          auto p = draw_isic_params(gn, isic_aug, gen).slice(b, e - b);
          std::tie(x, y) = apply_isic_augment(x, y, p, isic_aug);
        } else if (cfg.augment_policy == "synapse") {
          auto p = draw_synapse_params(gn, gen).slice(b, e - b);
          std::tie(x, y) = apply_synapse_augment(x, y, p);
        }
        torch::Tensor logits;
        {
          Bf16Autocast autocast(cfg.precision == Precision::bf16);
          logits = model->forward(x);
        }
        auto loss = rank_loss(model, logits.to(torch::kFloat), y, task, loss_w, double(e - b) / gn,
                              comm, nonfinite);
        reducer.prepare(1.0);
        loss.backward.backward();
        reducer.finish();
        adamw_step(*optimizer);
        loss_sum += loss.reported.to(torch::kDouble);
        images += gn;
        ++steps_done;
        if (bar) bar->advance(1);
      }
      if (bar) bar->finish();
      auto total = torch::stack({loss_sum, nonfinite.to(torch::kDouble)}).to(torch::kCPU);
      comm.all_reduce_sum(total);
      const double mean_loss = total[1].item<double>() > 0
                                   ? std::nan("")
                                   : total[0].item<double>() / std::max<int64_t>(steps_done, 1);
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      if (!std::isfinite(mean_loss)) {
        result.status = "diverged";
        result.error = fmt::format("loss became {} in epoch {}", mean_loss, epoch + 1);
        break;
      }
      result.epochs = epoch + 1;
      const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
      const double eta = elapsed / (epoch + 1 - start_epoch) * (cfg.epochs - epoch - 1);
      if (leader)
        spdlog::info("epoch {}/{}  loss {:.4f}  lr {:.3e}  {:.1f} img/s  {:.1f}s  eta {:.0f}s",
                     epoch + 1, cfg.epochs, mean_loss, lr, images / seconds, seconds, eta);
      if (rec) rec->epoch(result.run_key, {epoch + 1, mean_loss, lr, seconds, images / seconds});

      const bool last = epoch + 1 == cfg.epochs;
      if (last || (cfg.eval_every > 0 && (epoch + 1) % cfg.eval_every == 0))
        selection.offer(epoch + 1,
                        evaluate_test(model, data, cfg, comm, rec, result.run_key, epoch + 1),
                        leader);
      const bool stopping =
          req.stop_after_epochs > 0 && epoch + 1 - start_epoch >= req.stop_after_epochs && !last;
      if (leader && (last || stopping || (epoch + 1) % cfg.checkpoint_every == 0)) {
        const auto [path, digest] = save_checkpoint(run_dir + "/checkpoints", epoch + 1, *model,
                                                    *optimizer, {{"run_key", result.run_key}});
        if (rec) rec->artifact(result.run_key, "checkpoint", path, digest);
      }
      if (stopping) {
        result.status = "preempted";
        break;
      }
    }
    if (start_epoch >= cfg.epochs) {  // resumed a finished run: report its final evaluation
      result.epochs = start_epoch;
      selection.offer(start_epoch,
                      evaluate_test(model, data, cfg, comm, rec, result.run_key, start_epoch),
                      leader);
    }
    if (result.status.empty()) {
      result.status = "done";
      result.metrics = selection.selected()->metrics;
      record_final(rec, result.run_key, *selection.selected());
      if (leader && cfg.eval_select == EvalSelect::min_test_loss)
        spdlog::info("reporting the evaluation after epoch {} (lowest test loss)",
                     selection.selected_epoch());
    }
  } catch (const c10::OutOfMemoryError& e) {
    result.status = "oom";
    result.error = std::string("out of device memory: ") + e.what_without_backtrace();
  } catch (const std::exception& e) {
    if (rec) rec->finished(result.run_key, "failed", e.what());
    throw;
  }
  if (rec) rec->finished(result.run_key, result.status, result.error);
  return result;
}

}  // namespace vmunet
