// spdlog compiled once, here, instead of in every file that logs.
//
// spdlog's headers include their implementation (*-inl.h) unless
// SPDLOG_COMPILED_LIB is defined; header-only, each of the dozen files that
// include <spdlog/spdlog.h> compiled the pattern formatter, the registry and
// the sinks again (a third of their build time: cli.cpp 38 s -> 23 s,
// logging.cpp 20 s -> 4 s with g++ -O2). Debian's libspdlog-dev ships no
// static archive, and linking its shared library costs every `sonda` start
// the dynamic loader's time (top-level CMakeLists.txt), so sonda_lib, which
// defines SPDLOG_COMPILED_LIB for everything that uses it, carries the
// implementation of the parts sonda uses: the logger, its registry and
// formatter, and the colour console sinks. fmt stays header-only.
#ifndef SPDLOG_COMPILED_LIB
#error "sonda_lib defines SPDLOG_COMPILED_LIB for all its users; this file provides what that leaves out"
#endif

#include <spdlog/common-inl.h>
#include <spdlog/details/backtracer-inl.h>
#include <spdlog/details/log_msg-inl.h>
#include <spdlog/details/log_msg_buffer-inl.h>
#include <spdlog/details/os-inl.h>
#include <spdlog/details/periodic_worker-inl.h>
#include <spdlog/details/registry-inl.h>
#include <spdlog/logger-inl.h>
#include <spdlog/pattern_formatter-inl.h>
#include <spdlog/sinks/sink-inl.h>
#include <spdlog/spdlog-inl.h>

#include <spdlog/details/console_globals.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/ansicolor_sink-inl.h>
#include <spdlog/sinks/stdout_color_sinks-inl.h>

// The templates the headers declare and no longer define: the colour
// console sinks (stderr for sonda's log, stdout for spdlog's default logger),
// locked and unlocked.
template class spdlog::sinks::ansicolor_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_sink<spdlog::details::console_nullmutex>;
template class spdlog::sinks::ansicolor_stdout_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_stdout_sink<spdlog::details::console_nullmutex>;
template class spdlog::sinks::ansicolor_stderr_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_stderr_sink<spdlog::details::console_nullmutex>;
