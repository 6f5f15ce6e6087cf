# Fails the build unless MODULE lists libstdc++.so.6 as a dynamic dependency (see CMakeLists.txt).
execute_process(COMMAND ${READELF} -d ${MODULE} OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf -d ${MODULE} failed")
endif()
if(NOT dynamic MATCHES "libstdc\\+\\+\\.so")
  message(FATAL_ERROR
    "${MODULE} does not link libstdc++ dynamically (the compiler or its flags link it statically), which "
    "crashes beside torch. Rebuild with a plain compiler, e.g. CXX=/usr/bin/g++ CC=/usr/bin/gcc.")
endif()
