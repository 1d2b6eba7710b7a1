// `vmunet bench`: the time of one training step (forward, loss, backward, AdamW) and of one
// inference pass at a given model, batch, size and precision, as medians over repeated steps on
// synthetic inputs, with throughput and peak device memory.
#pragma once

#include <string>

#include "model/model_config.h"
#include "worker/communicator.h"
#include "worker/run_config.h"

namespace vmunet {

struct BenchOptions {
  ModelConfig model;
  int64_t batch = 32, size = 256;
  Precision precision = Precision::fp32;
  std::string device = "auto";
  int steps = 20, warmup = 5;
  bool recompute = false;  // activation recomputation per VSS block (train.recompute = blocks)
  // Training's forward and backward passes, and inference's forward pass, replayed from a CUDA
  // graph as training and prediction run them (worker/cuda_graphs.h); automatic: where they
  // would (and with --warmup 2 or more: an eager step, then the capture).
  CudaGraph cuda_graph = CudaGraph::automatic;
  // Data parallel training over these ranks (batch per rank, gradients all-reduced while the
  // backward pass runs); null: one process.
  Communicator* comm = nullptr;
};

struct BenchResult {
  std::string mode;  // "train" or "inference"
  std::string device_name;
  int ranks = 1;
  double median_ms = 0, min_ms = 0, images_per_s = 0;  // images/s over all ranks
  // Median time the host takes to queue a step's work (the whole step on the CPU). Near
  // median_ms on a GPU, the device waits for launches: the step is bound by the host.
  double queued_ms = 0;
  double peak_gib = 0;  // peak allocated device memory, warm-up included; 0 on the CPU
  bool graph = false;   // the steps replayed a CUDA graph
};

BenchResult bench_train(const BenchOptions& options);
// One process only (options.comm is ignored).
BenchResult bench_inference(const BenchOptions& options);

}  // namespace vmunet
