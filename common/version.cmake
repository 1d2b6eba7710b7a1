# Writes OUTPUT from INPUT (version.cpp.in) with this project's own `git describe`, run at every
# build: cmake -DSOURCE_DIR=... -DVERSION=... -DINPUT=... -DOUTPUT=... -P version.cmake
# The describe is "unknown" unless SOURCE_DIR is itself the top level of a git checkout, so an
# exported tree inside another repository does not report that repository's commit. OUTPUT is
# rewritten only when its text changes, so an unchanged describe recompiles nothing.
set(VMUNET_GIT_DESCRIBE unknown)
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --show-toplevel
                RESULT_VARIABLE rc OUTPUT_VARIABLE top
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(rc EQUAL 0)
  get_filename_component(top "${top}" REALPATH)
  get_filename_component(source "${SOURCE_DIR}" REALPATH)
  if(top STREQUAL source)
    execute_process(COMMAND git -C "${SOURCE_DIR}" describe --always --dirty --tags
                    RESULT_VARIABLE rc OUTPUT_VARIABLE describe
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(rc EQUAL 0 AND describe)
      set(VMUNET_GIT_DESCRIBE "${describe}")
    endif()
  endif()
endif()
set(PROJECT_VERSION "${VERSION}")
configure_file("${INPUT}" "${OUTPUT}" @ONLY)
