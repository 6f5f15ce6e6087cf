# Warning and numerics flags for the project's own targets (not for third-party code).
#
# -ffp-contract=off: the numerics contract forbids fused multiply-add in quantization arithmetic, so the
# CPU computes the same bits as the GPU (src/common/numerics.h).
function(fp8kit_set_compile_options target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror
                              -ffp-contract=off>
    $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Wall,-Wextra,-Werror,-ffp-contract=off
                               --expt-relaxed-constexpr>)
  if(FP8KIT_SANITIZE)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer>
      # GCC's instrumented code trips false maybe-uninitialized warnings inside libstdc++ (<regex>,
      # std::function); the uninstrumented build keeps the warning.
      $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wno-maybe-uninitialized>)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  if(FP8KIT_BUILD_FUZZERS)
    # Coverage feedback for libFuzzer in every project library (the fuzz targets link -fsanitize=fuzzer).
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>)
  endif()
endfunction()
