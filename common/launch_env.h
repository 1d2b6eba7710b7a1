// What a launcher (mpirun, srun) tells a process through its environment. Read without MPI, so
// it can decide before MPI starts (or where MPI is not linked: the progress bar, the OpenMP wait).
#pragma once

namespace vmunet {

// True when this process was started by mpirun/srun (so MPI must be initialised).
bool launched_under_mpi();

// Processes of this job on this host, from the launcher's environment (Open MPI's
// OMPI_COMM_WORLD_LOCAL_SIZE, else Slurm's SLURM_NTASKS_PER_NODE); 1 when neither is set.
int local_ranks_from_env();

}  // namespace vmunet
