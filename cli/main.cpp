// vmunet: one binary, one subcommand per job. Each subcommand lives in its own cli/cmd_*.cpp and
// only parses arguments and calls the library; errors surface here as one line and a non-zero exit
// (under mpirun, the whole job is aborted so no rank waits forever on a dead one).
#include <c10/util/Exception.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/openmp_wait.h"
#include "cli/parse_errors.h"
#include "common/error.h"
#include "common/version.h"
#include "launcher/stop_signal.h"
#include "worker/cpu_threads.h"
#ifdef VMUNET_MPI
#include "worker/mpi_communicator.h"
#endif

namespace {

// Prints the error's first line, naming the rank in a job of several, and ends every rank: the
// others may be waiting in a collective for this one. MPI must still be running here.
int fail(const std::string& what) {
  std::string where;
#ifdef VMUNET_MPI
  if (vmunet::MpiSession::world_size() > 1)
    where = "rank " + std::to_string(vmunet::MpiSession::world_rank()) + " of " +
            std::to_string(vmunet::MpiSession::world_size()) + ": ";
#endif
  // One write: under mpirun another rank's output may land between two (std::cerr is unbuffered).
  std::cerr << ("vmunet: error: " + where + what.substr(0, what.find('\n')) + "\n") << std::flush;
#ifdef VMUNET_MPI
  vmunet::MpiSession::abort_all(1);
#endif
  return 1;
}

// Parses the command line and runs the chosen subcommand's callback, turning every error into
// fail()'s line and exit status.
int run(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return vmunet::cli::report_parse_error(app, e, argc, argv);
  } catch (const c10::Error& e) {
    return fail(e.what_without_backtrace());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  vmunet::cli::ensure_openmp_wait_policy(argv);
  // Slurm may signal a sweep the moment it starts: without its handlers installed before the
  // slow start-up (LibTorch, MPI), SIGUSR1's default action would kill it instead of stopping it.
  if (argc > 1 && std::string(argv[1]) == "sweep") vmunet::install_stop_handlers();
  CLI::App app{
      "vmunet: train, evaluate and sweep VM-UNet (Vision Mamba UNet) for medical image "
      "segmentation"};
  app.set_version_flag("--version", std::string("vmunet ") + vmunet::version() + " (" +
                                        vmunet::git_describe() + ")");
  app.require_subcommand(1);
  for (const auto& add : vmunet::cli::all_commands()) add(app);
  vmunet::configure_cpu_threads();
#ifdef VMUNET_MPI
  // The session outlives run(), so an error on one rank aborts the job before MPI_Finalize,
  // which would otherwise wait for ranks that wait for this one.
  std::unique_ptr<vmunet::MpiSession> mpi;
  try {
    if (vmunet::launched_under_mpi()) mpi = std::make_unique<vmunet::MpiSession>(&argc, &argv);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
#endif
  return run(app, argc, argv);
}
