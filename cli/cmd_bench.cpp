// `vmunet bench`: median step times of training and inference, or of the selective scan alone.
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/cuda.h>

#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "model/selective_scan_bench.h"
#include "model/selective_scan_cpu_isa.h"
#include "worker/bench.h"
#include "worker/mpi_communicator.h"

namespace vmunet::cli {
namespace {

struct BenchArgs {
  std::string model, precision = "fp32", device = "auto";
  int64_t batch = 32, size = 256;
  int steps = 20, warmup = 5;
  bool scan = false, train_only = false, inference_only = false, recompute = false;
  std::string cuda_graph = "auto";
};

// The scan of stage 1 (4 directions × d_inner = 2·dims[0] channels, (size / 4)² positions) of
// --model, or of the paper's model.
void run_scan_bench(const BenchArgs& a) {
  const ModelConfig model = a.model.empty() ? ModelConfig{} : load_model_config(a.model);
  ScanBenchOptions o;
  o.batch = a.batch;
  o.channels = 4 * 2 * model.dims.front();
  o.dstate = model.d_state;
  o.length = (a.size / 4) * (a.size / 4);
  o.dtype = a.precision == "bf16" ? torch::kBFloat16 : torch::kFloat;
  const bool cpu = a.device == "cpu" || (a.device == "auto" && !torch::cuda::is_available());
  o.device = cpu ? torch::kCPU : torch::kCUDA;
  o.warmup = a.warmup;
  o.repeats = a.steps;
  std::cout << fmt::format("selective scan on {}, u ({}, {}, {}), N {}, {}{}\n",
                           cpu ? "cpu" : "cuda", o.batch, o.channels, o.length, o.dstate,
                           a.precision == "bf16" ? "bf16" : "fp32",
                           cpu ? fmt::format(", {} threads, {} kernels", at::get_num_threads(),
                                             cpu_runs_scan_avx2() ? "AVX2 + FMA" : "portable")
                               : "");
  for (const auto& r : bench_selective_scan(o))
    std::cout << fmt::format("  {:<40} median {:7.3f} ms  min {:7.3f} ms  {:7.1f} GB/s\n", r.pass,
                             r.median_ms, r.min_ms, r.gbps);
}

void run_bench(const BenchArgs& a) {
  if (a.scan) return run_scan_bench(a);
  BenchOptions o;
  if (!a.model.empty()) o.model = load_model_config(a.model);
  o.batch = a.batch;
  o.size = a.size;
  o.precision = parse_precision(a.precision, "--precision");
  o.device = a.device;
  o.steps = a.steps;
  o.warmup = a.warmup;
  o.recompute = a.recompute;
  o.cuda_graph = parse_cuda_graph(a.cuda_graph, "--cuda-graph");
  std::unique_ptr<Communicator> comm;
  if (launched_under_mpi()) {
    comm = make_world_communicator(a.device);
    o.comm = comm.get();
  }
  const bool leader = !comm || comm->rank() == 0;
  std::vector<BenchResult> results;
  if (!a.inference_only) results.push_back(bench_train(o));
  if (!a.train_only && leader) results.push_back(bench_inference(o));
  if (!leader) return;
  for (const auto& r : results)
    std::cout << fmt::format(
        "{:<9} {}{} batch {}{} {}x{} {}{}{}: median {:.1f} ms (min {:.1f}, queued in {:.1f}), "
        "{:.1f} images/s, peak {:.2f} GiB, median of {} after {} warm-up\n",
        r.mode, r.ranks > 1 ? fmt::format("{} x ", r.ranks) : "", r.device_name, o.batch,
        r.ranks > 1 ? " per rank" : "", o.size, o.size, a.precision,
        a.recompute && r.mode == "train" ? " recompute" : "", r.graph ? " graph" : "", r.median_ms,
        r.min_ms, r.queued_ms, r.images_per_s, r.peak_gib, o.steps, o.warmup);
}

void add_bench(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "bench",
      "Time training steps (forward, loss, backward, AdamW) and inference, or the scan. Under "
      "mpirun, training is data parallel (--batch per rank) and images/s counts every rank. "
      "'queued in' is the host's median time to queue a step's work: near the step's own median "
      "on a GPU, the device waits for launches");
  auto a = std::make_shared<BenchArgs>();
  sub->add_option("--model", a->model, "model JSON (default: the paper's VM-UNet, C = 96)")
      ->check(CLI::ExistingFile);
  sub->add_option("--batch", a->batch, "images per step")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--size", a->size, "image side (a multiple of 32)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--precision", a->precision, "fp32 | tf32 | bf16")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}));
  sub->add_option("--device", a->device, "auto | cpu | cuda")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  sub->add_option("--steps", a->steps, "timed steps (the median is reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--warmup", a->warmup, "untimed steps first")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--scan", a->scan,
                "time the selective-scan kernels alone, on the GPU or the CPU (stage-1 shape of "
                "--model at --batch and --size)");
  sub->add_flag("--recompute", a->recompute,
                "recompute each VSS block's activations in the backward pass (train.recompute)");
  sub->add_option("--cuda-graph", a->cuda_graph,
                  "training steps and inference passes replayed from a CUDA graph, as "
                  "train.cuda_graph and predict do: auto (on CUDA after 2 warm-up steps or more; "
                  "training on one process without --recompute) | on | off; the line says "
                  "'graph' when they were")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "on", "off"}));
  sub->add_flag("--train-only", a->train_only, "skip the inference measurement");
  sub->add_flag("--inference-only", a->inference_only, "skip the training measurement");
  sub->callback([a] {
    if (a->size % 32 != 0)
      throw Error("--size " + std::to_string(a->size) + ": must be a multiple of 32");
    run_bench(*a);
  });
}

const bool registered = register_command(add_bench);

}  // namespace
}  // namespace vmunet::cli
