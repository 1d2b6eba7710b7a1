// `vmunet prepare isic|synapse|synthetic`: convert a dataset into vmunet's HDF5 format
// (storage/dataset.h); the work is done by storage/prepare_*.h and storage/synthetic.h.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "storage/prepare_isic.h"
#include "storage/prepare_synapse.h"
#include "storage/synthetic.h"

namespace vmunet::cli {
namespace {

void print_summary(const PrepareSummary& summary) {
  for (const std::string& file : summary.files) {
    std::cout << "wrote " << file << ": " << summary.train << " train, " << summary.test
              << " test images";
    if (summary.volumes) std::cout << ", " << summary.volumes << " test volumes";
    std::cout << "\n";
  }
  for (const std::string& note : summary.notes) std::cout << "note: " << note << "\n";
  if (!summary.skipped.empty())
    std::cout << summary.skipped.size() << " inputs skipped (listed above)\n";
}

void add_sizes_and_output(CLI::App* sub, std::vector<int>& sizes, std::string& out, bool& strict,
                          int& gzip) {
  sub->add_option("--size", sizes, "output side(s) in pixels, multiples of 32")
      ->capture_default_str();
  sub->add_option("--out", out, "output .h5 file; \"{size}\" is replaced by each size")->required();
  sub->add_flag("--strict", strict, "fail on the first unpaired or unreadable input");
  sub->add_option("--gzip", gzip, "gzip level 0-9 (0: uncompressed)")
      ->capture_default_str()
      ->check(CLI::Range(0, 9));
}

void add_isic(CLI::App& prepare) {
  auto* sub = prepare.add_subcommand("isic", "ISIC image and mask folders");
  auto options = std::make_shared<IsicOptions>();
  sub->add_option("--images", options->images, "folder of images (ISIC_NNNN.jpg)");
  sub->add_option("--masks", options->masks, "folder of masks (ISIC_NNNN<suffix>.png)");
  sub->add_option("--root", options->root, "VM-UNet layout: ROOT/{train,val}/{images,masks}");
  sub->add_option("--mask-suffix", options->mask_suffix, "mask stem suffix, any case")
      ->capture_default_str();
  sub->add_option("--split", options->split, "training fraction (with --images/--masks)")
      ->capture_default_str();
  sub->add_option("--seed", options->seed, "seed of the train/test split")->capture_default_str();
  sub->add_option("--name", options->name, "dataset name stored in the file")
      ->capture_default_str();
  add_sizes_and_output(sub, options->sizes, options->out, options->strict, options->gzip_level);
  sub->callback([options] { print_summary(prepare_isic(*options)); });
}

void add_synapse(CLI::App& prepare) {
  auto* sub = prepare.add_subcommand("synapse", "Synapse multi-organ CT in the TransUNet layout");
  auto options = std::make_shared<SynapseOptions>();
  sub->add_option("--root", options->root,
                  "folder with train_npz/, test_vol_h5/ and lists/lists_Synapse/")
      ->required();
  sub->add_option("--name", options->name, "dataset name stored in the file")
      ->capture_default_str();
  add_sizes_and_output(sub, options->sizes, options->out, options->strict, options->gzip_level);
  sub->callback([options] { print_summary(prepare_synapse(*options)); });
}

void add_synthetic(CLI::App& prepare) {
  auto* sub = prepare.add_subcommand("synthetic", "Deterministic synthetic skin-lesion or CT data");
  struct Args {
    SyntheticOptions options;
    std::string task = "binary", out;
    int gzip = 4;
  };
  auto args = std::make_shared<Args>();
  sub->add_option("--task", args->task, "binary (skin lesions) or multiclass (CT organs)")
      ->capture_default_str()
      ->check(CLI::IsMember({"binary", "multiclass"}));
  sub->add_option("--train", args->options.train, "training images (slices)")
      ->capture_default_str();
  sub->add_option("--test", args->options.test, "test images (multiclass: slices)")
      ->capture_default_str();
  sub->add_option("--size", args->options.size, "image side, a multiple of 32")
      ->capture_default_str();
  sub->add_option("--seed", args->options.seed, "seed; the same seed gives the same bytes")
      ->capture_default_str();
  sub->add_option("--slices-per-volume", args->options.slices_per_volume,
                  "multiclass: slices per synthetic patient (test volume depth)")
      ->capture_default_str();
  sub->add_option("--out", args->out, "output .h5 file")->required();
  sub->add_option("--gzip", args->gzip, "gzip level 0-9")
      ->capture_default_str()
      ->check(CLI::Range(0, 9));
  sub->callback([args] {
    args->options.task = parse_task(args->task, "--task");
    prepare_synthetic(args->options, args->out, args->gzip);
    std::cout << "wrote " << args->out << "\n";
  });
}

void add_prepare(CLI::App& app) {
  auto* prepare = app.add_subcommand("prepare", "Convert a dataset into vmunet's HDF5 format");
  prepare->require_subcommand(1);
  add_isic(*prepare);
  add_synapse(*prepare);
  add_synthetic(*prepare);
}

const bool registered = register_command(add_prepare);

}  // namespace
}  // namespace vmunet::cli
