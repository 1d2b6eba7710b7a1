#include "worker/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "model/pretrained.h"
#include "model/vmunet.h"
#include "storage/database_locked.h"
#include "storage/dataset_tensors.h"
#include "storage/progress.h"
#include "storage/run_environment.h"
#include "storage/synthetic.h"
#include "worker/augment.h"
#include "worker/checkpoint.h"
#include "worker/cuda_graphs.h"
#include "worker/data_pipeline.h"
#include "worker/device.h"
#include "worker/eval_select.h"
#include "worker/evaluate.h"
#include "worker/gradient_reducer.h"
#include "worker/losses.h"
#include "worker/lr_schedule.h"
#include "worker/optimizer.h"
#include "worker/run_config.h"
#include "worker/train_step.h"

namespace vmunet {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// What an epoch has accumulated by a step boundary. A checkpoint written mid-epoch (on a stop)
// holds it, so that the resumed epoch runs the remaining steps and reports the same loss as an
// uninterrupted one. loss_sum and nonfinite are over all ranks; a resumed leader carries them.
struct EpochProgress {
  int64_t step = 0;  // the next step to run
  double loss_sum = 0;
  bool nonfinite = false;
  int64_t images = 0, steps_done = 0;
  double seconds = 0;
};

nlohmann::json progress_json(const EpochProgress& p) {
  return {{"step", p.step},     {"loss_sum", p.loss_sum},     {"nonfinite", p.nonfinite},
          {"images", p.images}, {"steps_done", p.steps_done}, {"seconds", p.seconds}};
}

EpochProgress progress_from_json(const nlohmann::json& j) {
  return {j.at("step").get<int64_t>(),       j.at("loss_sum").get<double>(),
          j.at("nonfinite").get<bool>(),     j.at("images").get<int64_t>(),
          j.at("steps_done").get<int64_t>(), j.at("seconds").get<double>()};
}

// Drop path's randomness for one step of one rank, reseeded at every step so that a run resumed
// mid-epoch draws what the uninterrupted run drew.
uint64_t drop_path_seed(uint64_t seed, int64_t epoch, int64_t step, int rank) {
  return ((seed * 7919 + static_cast<uint64_t>(epoch)) * 104729 + static_cast<uint64_t>(step)) *
             1031 +
         static_cast<uint64_t>(rank);
}

// The test split's metrics (ISIC confusion or Synapse volumes), logged by the leader and recorded
// as the evaluation after `epoch`.
EvalResult evaluate_test(VMUNet& model, const DatasetTensors& data, const RunConfig& cfg,
                         Communicator& comm, RunRecorder* rec, const std::string& key,
                         int64_t epoch) {
  const Task task = data.meta.task;
  const bool graph = cfg.cuda_graph != CudaGraph::off;
  const EvalResult ev =
      task == Task::binary
          ? evaluate_binary(model, network_input(data.test.images, data.meta.test_norm, task),
                            data.test.masks, cfg.threshold, cfg.batch_size, comm,
                            {cfg.loss_ce_or_bce_weight, cfg.loss_dice_weight}, graph)
          : evaluate_volumes(model, data.volumes, data.meta, data.meta.resolution, cfg.batch_size,
                             comm, graph);
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
  const torch::Device device = req.device ? *req.device : choose_device(cfg.device, local_rank());
  set_precision(cfg.precision, device);
  const std::string no_graph = cuda_graph_unsupported(device, comm.size(), cfg.recompute_blocks);
  if (cfg.cuda_graph == CudaGraph::on && !no_graph.empty())
    throw Error("train.cuda_graph is on, but " + no_graph + " (set it to auto or off)");
  // The data is opened and checked against the config before the run's folder is made or the run
  // recorded, so a bad data.path leaves nothing behind. (A device too small for the dataset is
  // therefore an error here, not a run ended `oom`.)
  const auto data = load_dataset_tensors(ensure_dataset(cfg, comm), device);
  const Task task = data.meta.task;
  const int64_t expected_classes = task == Task::binary ? 1 : data.meta.num_classes();
  if (cfg.model.num_classes != expected_classes)
    throw Error("model.num_classes is " + std::to_string(cfg.model.num_classes) + " but " +
                cfg.data_path + " is a " + task_name(task) + " dataset needing " +
                std::to_string(expected_classes));
  if (cfg.batch_size < comm.size())
    throw Error("train.batch_size (" + std::to_string(cfg.batch_size) +
                ") must be at least the number of ranks (" + std::to_string(comm.size()) + ")");
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
    const auto train_x = network_input(data.train.images, data.meta.train_norm, task);
    const auto train_y = network_target(data.train.masks, task);
    const int64_t N = train_x.size(0);

    torch::manual_seed(cfg.seed);
    VMUNet model(cfg.model);
    model->to(device);
    model->set_recompute(cfg.recompute_blocks);
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

    const TrainStepContext step_ctx{model, *optimizer, reducer, comm, task, loss_w, cfg.precision};
    // Full batches replay the captured step; a smaller last batch of an epoch runs eagerly.
    std::unique_ptr<CapturedTrainStep> graphed;
    if (cfg.cuda_graph != CudaGraph::off && no_graph.empty()) {
      graphed = std::make_unique<CapturedTrainStep>(step_ctx);
      if (leader) spdlog::info("training steps of {} images replay a CUDA graph", cfg.batch_size);
    }

    int64_t start_epoch = 0, saved_epoch = -1;  // saved_epoch: last epoch-end checkpoint written
    EpochProgress resumed;                      // of epoch start_epoch
    if (req.resume) {
      if (auto ckpt = load_latest_checkpoint(run_dir + "/checkpoints", *model, *optimizer)) {
        start_epoch = ckpt->epoch;
        if (ckpt->state.contains("progress")) resumed = progress_from_json(ckpt->state["progress"]);
        if (resumed.step == 0) saved_epoch = start_epoch;
        if (leader)
          spdlog::info("resumed from {} (epoch {}, step {})", ckpt->path, start_epoch,
                       resumed.step);
      }
    }
    EvalSelection selection(cfg.eval_select, run_dir + "/selected_evaluation.json", req.resume,
                            start_epoch);
    auto checkpoint = [&](int64_t epochs_done, const nlohmann::json& progress) {
      nlohmann::json state = {{"run_key", result.run_key},
                              {"inference", inference_meta_to_json(inference_meta(
                                                cfg.model, data.meta, cfg.threshold))}};
      if (!progress.is_null()) state["progress"] = progress;
      std::vector<std::string> rotated;
      const auto [path, digest] = save_checkpoint(run_dir + "/checkpoints", epochs_done, *model,
                                                  *optimizer, state, 2, &rotated);
      if (rec) {
        rec->artifact(result.run_key, "checkpoint", path, digest);
        for (const auto& old : rotated) rec->artifact_removed(result.run_key, old);
      }
    };
    // Every rank asks at every step, so all of them stop at the same step boundary.
    int64_t steps_run = 0;
    auto stop_requested = [&](int64_t epoch) {
      const bool local =
          (req.stop && req.stop->load()) ||
          (req.stop_after_epochs > 0 && epoch - start_epoch >= req.stop_after_epochs) ||
          (req.stop_after_steps > 0 && steps_run >= req.stop_after_steps);
      return comm.any(local);
    };

    const int64_t steps_full = (N + cfg.batch_size - 1) / cfg.batch_size;
    const int64_t steps =
        cfg.max_steps_per_epoch > 0 ? std::min(steps_full, cfg.max_steps_per_epoch) : steps_full;
    const auto run_start = Clock::now();
    for (int64_t epoch = start_epoch; epoch < cfg.epochs; ++epoch) {
      const auto t0 = Clock::now();
      const double lr = cosine_annealing_lr(schedule, epoch);
      set_lr(*optimizer, lr);
      model->train();
      const auto order = epoch_order(N, cfg.seed, epoch).to(device);
      const EpochProgress from = epoch == start_epoch ? resumed : EpochProgress{};
      const auto on_device = torch::TensorOptions().device(device);
      auto loss_sum =
          torch::full({}, leader ? from.loss_sum : 0.0, on_device.dtype(torch::kDouble));
      auto nonfinite = torch::full({}, leader && from.nonfinite, on_device.dtype(torch::kBool));
      int64_t images = from.images, steps_done = from.steps_done;
      // Only the leader draws: under mpirun every rank's stdout may be a terminal.
      std::unique_ptr<ProgressBar> bar;
      if (leader) {
        bar =
            std::make_unique<ProgressBar>(fmt::format("epoch {}/{}", epoch + 1, cfg.epochs), steps);
        if (from.step > 0) bar->advance(from.step);
      }
      for (int64_t step = from.step; step < steps; ++step) {
        if (stop_requested(epoch)) {
          result.status = RunStatus::preempted;
          result.epochs = epoch;
          if (step == 0) {
            if (leader && saved_epoch != epoch) checkpoint(epoch, nullptr);
            break;
          }
          auto sums = torch::stack({loss_sum, nonfinite.to(torch::kDouble)}).to(torch::kCPU);
          comm.all_reduce_sum(sums);
          const EpochProgress here{
              step,       sums[0].item<double>(),          sums[1].item<double>() > 0, images,
              steps_done, from.seconds + seconds_since(t0)};
          if (leader) checkpoint(epoch, progress_json(here));
          break;
        }
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
        torch::manual_seed(drop_path_seed(cfg.seed, epoch, step, comm.rank()));
        const bool replay = graphed && gn == cfg.batch_size && graphed->fits(x, y);
        loss_sum += (replay ? graphed->step(x, y, nonfinite)
                            : train_step(step_ctx, x, y, double(e - b) / gn, nonfinite))
                        .to(torch::kDouble);
        images += gn;
        ++steps_done;
        ++steps_run;
        if (bar) bar->advance(1);
      }
      if (bar) bar->finish();
      if (result.status == RunStatus::preempted) break;
      auto total = torch::stack({loss_sum, nonfinite.to(torch::kDouble)}).to(torch::kCPU);
      comm.all_reduce_sum(total);
      const double mean_loss = total[1].item<double>() > 0
                                   ? std::nan("")
                                   : total[0].item<double>() / std::max<int64_t>(steps_done, 1);
      const double seconds = from.seconds + seconds_since(t0);
      if (!std::isfinite(mean_loss)) {
        result.status = RunStatus::diverged;
        result.error = fmt::format("loss became {} in epoch {}", mean_loss, epoch + 1);
        break;
      }
      result.epochs = epoch + 1;
      const double elapsed = seconds_since(run_start);
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
      if (last || (epoch + 1) % cfg.checkpoint_every == 0) {
        if (leader) checkpoint(epoch + 1, nullptr);
        saved_epoch = epoch + 1;
      }
    }
    if (start_epoch >= cfg.epochs) {  // resumed a finished run: report its final evaluation
      result.epochs = start_epoch;
      selection.offer(start_epoch,
                      evaluate_test(model, data, cfg, comm, rec, result.run_key, start_epoch),
                      leader);
    }
    if (result.status == RunStatus::pending) {
      result.status = RunStatus::done;
      result.metrics = selection.selected()->metrics;
      record_final(rec, result.run_key, *selection.selected());
      if (leader && cfg.eval_select == EvalSelect::min_test_loss)
        spdlog::info("reporting the evaluation after epoch {} (lowest test loss)",
                     selection.selected_epoch());
    }
  } catch (const c10::OutOfMemoryError& e) {
    result.status = RunStatus::oom;
    result.error = std::string("out of device memory: ") + e.what_without_backtrace();
  } catch (const DatabaseLocked&) {
    // Recording the failure would wait out the busy timeout again on the same lock. The run's row
    // stays `running`, as after a kill, until the run is resumed.
    throw;
  } catch (const std::exception& e) {
    // runs.error gets the message's first line. LibTorch's errors go on with a C++ backtrace,
    // worth keeping for a bug report: there is no per-run log file, the run's log is what spdlog
    // prints (its config table, epochs, evaluations; a sweep's job output), so it goes there, as a
    // warning because nothing lowers spdlog's level below info and a debug line would be lost.
    const std::string text = e.what();
    const std::string message = text.substr(0, text.find('\n'));
    if (message != text) spdlog::warn("run {} failed: {}", result.run_key, text);
    try {
      if (rec) rec->finished(result.run_key, run_status_name(RunStatus::failed), message);
    } catch (const std::exception& also) {  // keep the first failure, the one to fix
      spdlog::warn("could not record the failure: {}", also.what());
    }
    throw;
  }
  if (rec) rec->finished(result.run_key, run_status_name(result.status), result.error);
  return result;
}

}  // namespace vmunet
