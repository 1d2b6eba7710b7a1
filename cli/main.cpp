// vmunet: one binary, one subcommand per job. Each subcommand lives in its own cli/cmd_*.cpp and
// only parses arguments and calls the library; errors surface here as one line and a non-zero exit
// (under mpirun, the whole job is aborted so no rank waits forever on a dead one).
#include <c10/util/Exception.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "common/version.h"
#include "worker/cpu_threads.h"
#ifdef VMUNET_MPI
#include "worker/mpi_communicator.h"
#endif

namespace {

int fail(const std::string& what) {
  std::cerr << "vmunet: error: " << what.substr(0, what.find('\n')) << "\n";
#ifdef VMUNET_MPI
  vmunet::MpiSession::abort_all(1);
#endif
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vmunet: train, evaluate and sweep VM-UNet (Vision Mamba UNet) for medical image "
      "segmentation"};
  app.set_version_flag("--version", std::string("vmunet ") + vmunet::version() + " (" +
                                        vmunet::git_describe() + ")");
  app.require_subcommand(1);
  for (const auto& add : vmunet::cli::all_commands()) add(app);
  try {
    vmunet::configure_cpu_threads();
#ifdef VMUNET_MPI
    std::unique_ptr<vmunet::MpiSession> mpi;
    if (vmunet::launched_under_mpi()) mpi = std::make_unique<vmunet::MpiSession>(&argc, &argv);
#endif
    app.parse(argc, argv);  // the chosen subcommand's callback does the work
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const c10::Error& e) {
    return fail(e.what_without_backtrace());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 0;
}
