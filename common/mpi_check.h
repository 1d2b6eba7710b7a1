// VMUNET_MPI_CHECK(call): every MPI status checked and reported with the call that failed and
// MPI's own message (file:line through vmunet::fail_at). Include only where MPI is linked.
#pragma once

#include <mpi.h>

#include <string>

#include "common/error.h"

#define VMUNET_MPI_CHECK(call)                                                 \
  do {                                                                         \
    const int rc_ = (call);                                                    \
    if (rc_ != MPI_SUCCESS) {                                                  \
      char msg_[MPI_MAX_ERROR_STRING];                                         \
      int len_ = 0;                                                            \
      MPI_Error_string(rc_, msg_, &len_);                                      \
      ::vmunet::fail_at(__FILE__, __LINE__, std::string(#call) + ": " + msg_); \
    }                                                                          \
  } while (0)
