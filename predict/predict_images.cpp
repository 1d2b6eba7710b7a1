// Image files and .npy slices (predict.h), written as PNG masks, probability maps and overlays.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "predict/predict_inputs.h"
#include "storage/image_io.h"
#include "storage/npy.h"
#include "worker/checkpoint.h"
#include "worker/data_pipeline.h"
#include "worker/evaluate.h"

namespace vmunet {
namespace fs = std::filesystem;
namespace {

// <out>/<folder>/<stem><extension>; masks go straight into <out>, so that it can be evaluated
// as a folder of masks.
std::string output_path(const PredictContext& c, const std::string& input, const char* folder,
                        const char* extension) {
  const fs::path dir = fs::path(c.options.out_dir) / folder;
  fs::create_directories(dir);
  return (dir / (fs::path(input).stem().string() + extension)).string();
}

// A tensor's float data viewed as a cv::Mat of `rows`×`cols` (no copy; t must stay alive).
cv::Mat float_view(const torch::Tensor& t, int rows, int cols) {
  return cv::Mat(rows, cols, CV_32F, t.data_ptr<float>());
}

struct Image {
  std::string path;
  cv::Mat rgb;  // 8-bit RGB at its own size
};

void write_binary(PredictContext& c, const Image& image, const cv::Mat& probability) {
  const cv::Mat mask = probability >= c.threshold;  // 0/255
  write_png(output_path(c, image.path, "", ".png"), mask);
  if (c.options.probabilities) {
    cv::Mat p16;
    probability.convertTo(p16, CV_16U, 65535.0);
    write_png(output_path(c, image.path, "probabilities", ".png"), p16);
  }
  if (c.options.overlay)
    write_png(output_path(c, image.path, "overlays", ".png"),
              overlay_classes(image.rgb, mask / 255));
}

// One batch through the network at its input size, each probability map back at its image's size.
void predict_binary_batch(PredictContext& c, const std::vector<Image>& batch) {
  const int S = static_cast<int>(c.model.meta.input_size);
  auto stacked = torch::empty({static_cast<int64_t>(batch.size()), S, S, 3}, torch::kUInt8);
  for (size_t i = 0; i < batch.size(); ++i) {
    const cv::Mat sized = resize_square(batch[i].rgb, S).clone();  // continuous
    std::memcpy(stacked[static_cast<int64_t>(i)].data_ptr<uint8_t>(), sized.data,
                sized.total() * 3);
  }
  const auto device = c.model.model->parameters().front().device();
  torch::Tensor probs;
  {
    torch::NoGradGuard no_grad;
    const auto x = network_input(stacked.to(device), c.model.meta.norm, Task::binary);
    probs = c.model.model->output((*c.forward)(x)).squeeze(1).to(torch::kCPU).contiguous();
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const cv::Mat& rgb = batch[i].rgb;
    const cv::Mat at_input = float_view(probs[static_cast<int64_t>(i)], S, S);
    cv::Mat p = at_input;
    if (rgb.size() != at_input.size()) cv::resize(at_input, p, rgb.size(), 0, 0, cv::INTER_LINEAR);
    write_binary(c, batch[i], p);
    ++c.summary.written;
    c.progress->advance(1);
  }
}

// One multiclass slice (H, W) in [0, 1], predicted as the trainer's evaluation predicts slices.
void predict_multiclass_slice(PredictContext& c, const std::string& path, const cv::Mat& grey01) {
  const int H = grey01.rows, W = grey01.cols;
  auto slice = torch::from_blob(grey01.clone().data, {1, H, W}, torch::kFloat).clone();
  auto& m = c.model;
  const auto device = m.model->parameters().front().device();
  const auto pred = predict_slices(m.model, *c.forward, slice.to(device), m.meta.input_size,
                                   c.options.batch, c.options.probabilities);
  const cv::Mat classes(H, W, CV_8U, pred.classes.data_ptr<uint8_t>());
  write_png(output_path(c, path, "", ".png"), classes);
  if (c.options.probabilities) {
    const auto p = pred.probabilities[0].contiguous();
    write_file_atomically(output_path(c, path, "probabilities", ".npy"),
                          npy_float32_bytes(p.sizes().vec(), p.data_ptr<float>()));
  }
  if (c.options.overlay) {
    cv::Mat grey8, rgb;
    grey01.convertTo(grey8, CV_8U, 255.0);
    cv::cvtColor(grey8, rgb, cv::COLOR_GRAY2RGB);
    write_png(output_path(c, path, "overlays", ".png"), overlay_classes(rgb, classes));
  }
  ++c.summary.written;
  c.progress->advance(1);
}

// A .npy slice as float (H, W) in [0, 1]: float data as stored, 8-bit data divided by 255.
cv::Mat read_npy_slice(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  const NpyArray a = parse_npy(bytes, path);
  auto shape = a.shape;
  if (shape.size() == 3 && shape[0] == 1) shape.erase(shape.begin());
  if (shape.size() != 2 || shape[0] < 1 || shape[1] < 1)
    throw Error(path + ": expected one slice of shape (H, W), found " +
                std::to_string(a.shape.size()) + " dimensions");
  std::vector<float> values = a.to_float();
  const double scale = a.type == NpyType::uint8 ? 1.0 / 255.0 : 1.0;
  cv::Mat out;
  cv::Mat(static_cast<int>(shape[0]), static_cast<int>(shape[1]), CV_32F, values.data())
      .convertTo(out, CV_32F, scale);
  return out;
}

}  // namespace

void predict_image_files(const std::vector<std::string>& files, PredictContext& c) {
  std::vector<Image> batch;
  for (const std::string& path : files) {
    Image image{path, {}};
    try {
      image.rgb = read_image_rgb(path);
    } catch (const Error& e) {
      c.skip(path, e.what());
      c.progress->advance(1);
      continue;
    }
    if (c.model.meta.task == Task::multiclass) {
      cv::Mat grey, grey01;
      cv::cvtColor(image.rgb, grey, cv::COLOR_RGB2GRAY);
      grey.convertTo(grey01, CV_32F, 1.0 / 255.0);
      predict_multiclass_slice(c, path, grey01);
      continue;
    }
    batch.push_back(std::move(image));
    if (static_cast<int64_t>(batch.size()) == c.options.batch) {
      predict_binary_batch(c, batch);
      batch.clear();
    }
  }
  if (!batch.empty()) predict_binary_batch(c, batch);
}

void predict_npy_slices(const std::vector<std::string>& files, PredictContext& c) {
  for (const std::string& path : files) {
    if (c.model.meta.task != Task::multiclass) {
      c.skip(path, ".npy slices need a multiclass model; this one is binary (give image files)");
    } else {
      try {
        predict_multiclass_slice(c, path, read_npy_slice(path));
        continue;
      } catch (const Error& e) {
        c.skip(path, e.what());
      }
    }
    c.progress->advance(1);
  }
}

}  // namespace vmunet
