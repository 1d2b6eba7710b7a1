// Built instead of the ISIC and Synapse importers where OpenCV or libzip is missing (the GPU
// machine): datasets are prepared on a machine that has them and copied over.
#include "common/error.h"
#include "storage/prepare_isic.h"
#include "storage/prepare_synapse.h"

namespace vmunet {
namespace {

[[noreturn]] void unavailable(const char* command) {
  throw Error(std::string(command) +
              ": this vmunet was built without OpenCV and libzip; prepare the dataset on a "
              "machine that has them and copy the .h5 file here");
}

}  // namespace

PrepareSummary prepare_isic(const IsicOptions&) { unavailable("prepare isic"); }
PrepareSummary prepare_synapse(const SynapseOptions&) { unavailable("prepare synapse"); }

}  // namespace vmunet
