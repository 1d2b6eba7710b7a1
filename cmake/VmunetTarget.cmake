# Shared compile settings. LibTorch's headers dominate build time on small machines, so every target
# that includes them reuses one precompiled header.

set(VMUNET_WARNINGS -Wall -Wextra)

add_library(vmunet_torch_pch STATIC ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
target_link_libraries(vmunet_torch_pch PUBLIC ${TORCH_LIBRARIES})
target_compile_options(vmunet_torch_pch PRIVATE ${VMUNET_WARNINGS})
target_precompile_headers(vmunet_torch_pch PRIVATE <torch/torch.h>)

# vmunet_target(NAME) gives a target our warnings and, if USES_TORCH, LibTorch and the shared PCH.
function(vmunet_target name)
  cmake_parse_arguments(ARG "USES_TORCH" "" "" ${ARGN})
  target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${VMUNET_WARNINGS}>)
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  if(ARG_USES_TORCH)
    target_link_libraries(${name} PUBLIC ${TORCH_LIBRARIES})
    target_precompile_headers(${name} REUSE_FROM vmunet_torch_pch)
  endif()
endfunction()
