# Finds every third-party library once, for Debian 12 (CPU LibTorch 1.13) and for the GPU machine
# (Ubuntu 24.04, the PyTorch 2.x wheel's LibTorch), which lacks some CMake config files.

find_package(Torch REQUIRED)
find_package(nlohmann_json 3.9 REQUIRED)
find_package(Threads REQUIRED)

# CLI11 and spdlog/fmt: Debian packages here; on the GPU machine, headers unpacked from the same
# Debian packages into VMUNET_DEPS_PREFIX (scripts/gpu_build.sh), used header-only.
find_package(CLI11 CONFIG QUIET)
if(NOT CLI11_FOUND)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE_DIR})
endif()
find_package(spdlog CONFIG QUIET)
if(NOT spdlog_FOUND)
  find_path(SPDLOG_INCLUDE_DIR spdlog/spdlog.h REQUIRED)
  add_library(spdlog::spdlog INTERFACE IMPORTED)
  target_include_directories(spdlog::spdlog INTERFACE ${SPDLOG_INCLUDE_DIR})
  target_compile_definitions(spdlog::spdlog INTERFACE SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY)
endif()

find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)

find_package(HDF5 QUIET COMPONENTS C CXX)
if(NOT HDF5_FOUND)
  find_path(HDF5_INCLUDE_DIRS H5Cpp.h PATH_SUFFIXES hdf5/serial REQUIRED)
  find_library(HDF5_C_LIB NAMES hdf5_serial hdf5 REQUIRED)
  find_library(HDF5_CXX_LIB NAMES hdf5_serial_cpp hdf5_cpp REQUIRED)
  set(HDF5_LIBRARIES ${HDF5_CXX_LIB} ${HDF5_C_LIB})
endif()
add_library(vmunet_hdf5 INTERFACE)
target_include_directories(vmunet_hdf5 SYSTEM INTERFACE ${HDF5_INCLUDE_DIRS})
target_link_libraries(vmunet_hdf5 INTERFACE ${HDF5_LIBRARIES})

# OpenCV (image files) and libzip (Synapse .npz) serve `prepare` only; the GPU machine has neither,
# so `prepare isic|synapse` is built where they exist and says so clearly where they do not.
find_path(OPENCV_INCLUDE_DIR opencv2/imgcodecs.hpp PATH_SUFFIXES opencv4)
find_library(OPENCV_CORE_LIB opencv_core)
find_library(OPENCV_IMGCODECS_LIB opencv_imgcodecs)
find_library(OPENCV_IMGPROC_LIB opencv_imgproc)
find_path(JPEG_HEADER_DIR jpeglib.h)
find_library(JPEG_LIB jpeg)
find_path(LIBZIP_INCLUDE_DIR zip.h)
find_library(LIBZIP_LIB zip)
if(OPENCV_INCLUDE_DIR AND OPENCV_CORE_LIB AND OPENCV_IMGCODECS_LIB AND OPENCV_IMGPROC_LIB
   AND LIBZIP_INCLUDE_DIR AND LIBZIP_LIB AND JPEG_HEADER_DIR AND JPEG_LIB)
  set(VMUNET_HAVE_IMPORTERS ON)
  add_library(vmunet_importer_deps INTERFACE)
  target_include_directories(vmunet_importer_deps SYSTEM INTERFACE ${OPENCV_INCLUDE_DIR}
                             ${LIBZIP_INCLUDE_DIR} ${JPEG_HEADER_DIR})
  # libjpeg directly too: prepare checks JPEGs for corrupt data that OpenCV decodes silently.
  target_link_libraries(vmunet_importer_deps INTERFACE ${OPENCV_IMGCODECS_LIB} ${OPENCV_IMGPROC_LIB}
                        ${OPENCV_CORE_LIB} ${LIBZIP_LIB} ${JPEG_LIB})
else()
  set(VMUNET_HAVE_IMPORTERS OFF)
  message(STATUS "OpenCV, libjpeg or libzip not found: `vmunet prepare isic|synapse` disabled")
endif()

if(VMUNET_MPI)
  find_package(MPI REQUIRED COMPONENTS C)
endif()

# CUDA kernels: on only when LibTorch itself was built with CUDA.
set(VMUNET_CUDA OFF)
if(TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA)
  set(VMUNET_CUDA ON)
endif()
# Where nvcc exists but LibTorch is CPU-only (CI), the kernels are still compiled, as a check that
# they build for sm_90; nothing links them.
include(CheckLanguage)
check_language(CUDA)
set(vmunet_nvcc_found OFF)
if(CMAKE_CUDA_COMPILER)
  set(vmunet_nvcc_found ON)
endif()
option(VMUNET_CUDA_KERNELS "Compile the CUDA kernels even without CUDA LibTorch (compile check only)"
       ${vmunet_nvcc_found})
if(VMUNET_CUDA OR VMUNET_CUDA_KERNELS)
  if(NOT CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
endif()
if(VMUNET_CUDA)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${NCCL_ROOT}/include /usr/local/cuda/include)
  find_library(NCCL_LIB nccl HINTS ${NCCL_ROOT}/lib /usr/local/cuda/lib64)
endif()
# LibTorch's CPU threads are OpenMP's, and at::parallel_for is a header template that runs in
# parallel only where the file including it is compiled with OpenMP: our CPU kernels (the scan,
# the SS2D prologue, LayerNorm, AdamW) need -fopenmp and libgomp themselves, or they run on one
# thread whatever at::get_num_threads() says. Debian's LibTorch links the system libgomp, which these then share.
# A CUDA LibTorch from a PyTorch wheel bundles its own copy, and a second OpenMP runtime in the
# process would keep a second thread pool: there they stay on one thread (the GPU does the work).
set(VMUNET_CPU_KERNEL_OPENMP OFF)
if(NOT VMUNET_CUDA)
  find_package(OpenMP COMPONENTS CXX)
  if(OpenMP_CXX_FOUND)
    set(VMUNET_CPU_KERNEL_OPENMP ON)
  endif()
endif()
# Flags and libraries for a file of `target` that calls at::parallel_for.
function(vmunet_cpu_kernel_source target source)
  if(VMUNET_CPU_KERNEL_OPENMP)
    set_property(SOURCE ${source} APPEND PROPERTY COMPILE_OPTIONS ${OpenMP_CXX_FLAGS})
    target_link_libraries(${target} PUBLIC ${OpenMP_CXX_LIBRARIES})
  else()
    set_property(SOURCE ${source} APPEND PROPERTY COMPILE_OPTIONS -fopenmp-simd)
  endif()
  set_property(SOURCE ${source} PROPERTY SKIP_PRECOMPILE_HEADERS ON)
endfunction()

message(STATUS "vmunet: torch ${Torch_VERSION}, CUDA kernels ${VMUNET_CUDA}, importers ${VMUNET_HAVE_IMPORTERS}, OpenMP CPU kernels ${VMUNET_CPU_KERNEL_OPENMP}")
