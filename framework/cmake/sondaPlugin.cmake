# sonda_add_plugin(<name> SOURCES <src>... [LIBS <lib>...])
#
# A drop-in sonda plugin: a CMake MODULE library named exactly <name>.so
# (no "lib" prefix), hidden visibility so only the two BOOST_DLL_ALIAS
# symbols are exported, linked against sonda::sdk. Put the result in a
# directory on SONDA_PLUGIN_PATH (or next to the sonda binary).
function(sonda_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "sonda_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "" CXX_VISIBILITY_PRESET hidden
                                           VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_link_libraries(${name} PRIVATE sonda::sdk ${P_LIBS})
endfunction()
