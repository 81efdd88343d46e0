# meridian_bpf_object(NAME <name> SOURCE <file.bpf.c> [DEPENDS headers...])
#
# Compiles one BPF program file with clang -target bpf (-O2 -g keeps BTF),
# then generates its libbpf skeleton <name>.skel.h with bpftool. Produces an
# INTERFACE target <name>_skel whose include directory holds the skeleton.
# The flag list is explicit: CMAKE_C_FLAGS and add_compile_options() never
# reach the BPF compile.

find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
  OUTPUT_VARIABLE BPF_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT BPF_MULTIARCH)
  set(BPF_MULTIARCH x86_64-linux-gnu)
endif()

set(BPF_INCLUDE_DIR ${PROJECT_SOURCE_DIR}/bpf/include)
set(BPF_SKEL_DIR ${PROJECT_BINARY_DIR}/bpf/skel)
file(MAKE_DIRECTORY ${BPF_SKEL_DIR})

function(meridian_bpf_object)
  cmake_parse_arguments(A "" "NAME;SOURCE" "DEPENDS" ${ARGN})
  set(obj ${BPF_SKEL_DIR}/${A_NAME}.bpf.o)
  set(skel ${BPF_SKEL_DIR}/${A_NAME}.skel.h)
  file(GLOB bpf_headers ${BPF_INCLUDE_DIR}/meridian/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -target bpf -O2 -g -Wall -Werror
            -D__TARGET_ARCH_x86
            -I${BPF_INCLUDE_DIR} -I/usr/include/${BPF_MULTIARCH}
            -c ${A_SOURCE} -o ${obj}
    DEPENDS ${A_SOURCE} ${bpf_headers} ${A_DEPENDS}
    COMMENT "BPF ${A_NAME}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${A_NAME} > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${A_NAME}.skel.h"
    VERBATIM)
  add_custom_target(${A_NAME}_skel_gen DEPENDS ${skel})
  add_library(${A_NAME}_skel INTERFACE)
  add_dependencies(${A_NAME}_skel ${A_NAME}_skel_gen)
  target_include_directories(${A_NAME}_skel INTERFACE ${BPF_SKEL_DIR} ${BPF_INCLUDE_DIR})
  target_link_libraries(${A_NAME}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
