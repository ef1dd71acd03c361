// The "chaos" plugin: written like a third party's (the public SDK only), it
// breaks the process it runs in (segfault, abort, _exit, a hang that ignores
// every stop request, writes to or closes fd 1) or hands over records that
// are huge or not JSON objects. The runner must turn each into a step result
// and go on with the run. Built only for tests.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sonda/plugin.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using sonda::json;

/// Dereferences a null pointer the compiler cannot see as null.
json segv_action(const json&, sonda::Context&) {
  std::fprintf(stderr, "chaos: about to segfault\n");
  std::fflush(stderr);
  volatile int* volatile null_ptr = nullptr;
  *null_ptr = 42;
  return {{"survived", true}};
}

json abort_action(const json&, sonda::Context&) {
  std::fprintf(stderr, "chaos: about to abort\n");
  std::fflush(stderr);
  std::abort();
}

json exit3_action(const json&, sonda::Context&) {
  std::fprintf(stderr, "chaos: exiting with 3\n");
  std::fflush(stderr);
  _exit(3);
}

/// Never returns: no stop flag, no deadline.
json hang_action(const json&, sonda::Context&) {
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

/// Prints what is not a protocol line (with bytes that are not UTF-8) to
/// stdout and stderr, then succeeds.
json garbage_action(const json&, sonda::Context&) {
  std::printf("not a protocol line {{{\x01\x02\xff\n");
  std::fflush(stdout);
  std::fprintf(stderr, "chaos: garbage on stderr }}}\x01\x02\xff\n");
  std::fflush(stderr);
  return {{"ok", true}, {"printed", true}};
}

/// Closes fd 1 and prints to it anyway, then succeeds.
json close_stdout_action(const json&, sonda::Context&) {
  close(1);
  std::printf("after close\n");
  std::fflush(stdout);
  return {{"ok", true}, {"closed_fd1", true}};
}

/// A record of about `bytes` bytes, written as text by hand:
/// {"filler":"xxx...","bytes":N}.
json big_action(const json& params, sonda::Context& ctx) {
  const int64_t bytes = params.at("bytes").get<int64_t>();
  const std::string head = "{\"filler\":\"";
  const std::string tail = "\",\"bytes\":" + std::to_string(bytes) + "}";
  const int64_t filler = std::max<int64_t>(0, bytes - static_cast<int64_t>(head.size() + tail.size()));
  std::string text;
  text.reserve(head.size() + static_cast<size_t>(filler) + tail.size());
  text += head;
  text.append(static_cast<size_t>(filler), 'x');
  text += tail;
  if (!params.at("valid").get<bool>()) {
    text.back() = ',';  // one object left open: not JSON
  }
  const int64_t piece = params.at("pieces").get<int64_t>();
  if (piece <= 0) {
    ctx.set_record_text(std::move(text));
    return json::object();
  }
  // Streamed: handed over `piece` bytes at a time, as a renderer would.
  for (size_t at = 0; at < text.size(); at += static_cast<size_t>(piece)) {
    ctx.append_record_text(std::string_view(text).substr(at, static_cast<size_t>(piece)));
  }
  if (params.at("then_replace").get<bool>()) {
    ctx.set_record_text(R"({"replaced":true})");  // replaces every piece
  }
  return json::object();
}

json notjson_action(const json&, sonda::Context& ctx) {
  ctx.set_record_text("{not json");
  return json::object();
}

json notobject_action(const json&, sonda::Context& ctx) {
  ctx.set_record_text("[1,2,3]");
  return json::object();
}

json ok_action(const json&, sonda::Context&) { return {{"fine", true}}; }

/// The command line of `pid` with its NULs as spaces, trailing ones dropped.
std::string cmdline_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\0') text.pop_back();
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

/// Where the agent running it stands: its pid, parent, group, command line.
/// What each open descriptor of this process points at ("socket:[123]",
/// a path), fd order.
json open_fds() {
  json out = json::array();
  std::error_code ec;
  std::vector<int> fds;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    fds.push_back(std::atoi(e.path().filename().c_str()));
  }
  std::sort(fds.begin(), fds.end());
  for (int fd : fds) {
    const auto target = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
    if (!ec) out.push_back(target.string());  // the iterator's own fd is gone by now
  }
  return out;
}

json whoami_action(const json&, sonda::Context&) {
  return {{"pid", getpid()},   {"ppid", getppid()},
          {"pgid", getpgrp()}, {"cmdline", cmdline_of(getpid())},
          {"parent_cmdline", cmdline_of(getppid())}, {"fds", open_fds()}};
}

const sonda_param_spec kBigParams[] = {
    {.name = "bytes", .type = SONDA_PARAM_SIZE, .default_value = "50MB", .min = 0, .max = 1e9, .unit = "bytes",
     .doc = "About how large the record text is"},
    {.name = "valid", .type = SONDA_PARAM_BOOL, .default_value = "true",
     .doc = "false: the text ends in ',' instead of '}' (not JSON)"},
    {.name = "pieces", .type = SONDA_PARAM_SIZE, .default_value = "0B", .min = 0, .max = 1e9, .unit = "bytes",
     .doc = "Above 0: hand the text over in pieces of this size (append_record_text)"},
    {.name = "then_replace", .type = SONDA_PARAM_BOOL, .default_value = "false",
     .doc = "After the pieces, set_record_text({\"replaced\":true}), which replaces them"}};

const sonda::Action kActions[] = {
    {{.name = "segv", .doc = "Print to stderr, then dereference a null pointer"}, &segv_action},
    {{.name = "abort", .doc = "Print to stderr, then std::abort()"}, &abort_action},
    {{.name = "exit3", .doc = "Print to stderr, then _exit(3) mid-action"}, &exit3_action},
    {{.name = "hang", .doc = "Sleep forever, ignoring the stop flag and the deadline"}, &hang_action},
    {{.name = "garbage", .doc = "Print non-protocol bytes to stdout and stderr, then succeed"}, &garbage_action},
    {{.name = "close_stdout", .doc = "Close fd 1, print anyway, then succeed"}, &close_stdout_action},
    {{.name = "big", .doc = "Hand over a record of about `bytes` bytes as text", .params = kBigParams,
      .param_count = std::size(kBigParams)}, &big_action},
    {{.name = "notjson", .doc = "Hand over a record that is not JSON"}, &notjson_action},
    {{.name = "notobject", .doc = "Hand over a record that is a JSON array"}, &notobject_action},
    {{.name = "ok", .doc = "Succeed with {\"fine\": true}"}, &ok_action},
    {{.name = "whoami", .doc = "Say the agent's pid, parent, process group and command lines"}, &whoami_action},
};

}  // namespace

SONDA_PLUGIN("chaos", "0.1.0", "Plugins behaving badly, for isolation tests", 0, kActions)
