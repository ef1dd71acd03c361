// The "testkit" plugin: small, predictable actions that exercise every part
// of the host contract (stop flag, deadlines, ready(), samples, failures with
// a kind) so runner tests can assert exact behaviour. Built only for tests.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sonda/plugin.hpp>
#include <thread>

namespace {

using sonda::json;

/// Sleeps `duration` in small slices, returning early when asked to stop.
json sleep_action(const json& params, sonda::Context& ctx) {
  const int64_t duration_ns = params.at("duration").get<int64_t>();
  const int64_t start = sonda::Context::now_ns();
  while (!ctx.should_stop() && sonda::Context::now_ns() - start < duration_ns) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int64_t slept = sonda::Context::now_ns() - start;
  return {{"slept_ns", slept},
          {"stopped_early", slept < duration_ns},
          {"value", params.value("value", 0)},
          {"summary", "slept " + std::to_string(slept / 1000000) + " ms"}};
}

/// Always fails with the given message and kind; `port`/`protocol` go in the
/// details, as a transport plugin does for EADDRINUSE.
json fail_action(const json& params, sonda::Context&) {
  json details = json::object();
  if (params.contains("port")) {
    details["port"] = params["port"];
    details["protocol"] = params.value("protocol", "tcp");
  }
  throw sonda::StepError(params.at("message").get<std::string>(), params.at("kind").get<std::string>(),
                         details);
}

/// Returns the normalised parameters it received.
json echo_params_action(const json& params, sonda::Context&) { return {{"params", params}}; }

/// A large record shaped like a socket scan: `count` socket objects (strings
/// with escapes and non-ASCII, nested owners, big integers) so host tests and
/// benches can check that big records survive the host unchanged.
json big_record_action(const json& params, sonda::Context&) {
  const int count = params.at("count").get<int>();
  json sockets = json::array();
  for (int i = 0; i < count; ++i) {
    sockets.push_back({{"proto", i % 3 == 0 ? "udp" : "tcp"},
                       {"state", i % 2 == 0 ? "ESTAB" : "TIME-WAIT"},
                       {"local", "127.0.0.1:" + std::to_string(20000 + i % 40000)},
                       {"remote", "127.0.0.1:10000"},
                       {"inode", 1'000'000'000'000LL + i},
                       {"rx_queue", i % 7},
                       {"tx_queue", 0},
                       {"rtt_ms", 0.125 * (i % 9)},
                       {"owner", {{"pid", 4000 + i % 50}, {"process", "caf\u00e9 \"zoo\"\n"}}}});
  }
  return {{"socket_count", count},
          {"sockets", std::move(sockets)},
          {"summary", std::to_string(count) + " sockets"}};
}

/// BACKGROUND: listens on 127.0.0.1 (port 0 = any), calls ready({port}),
/// accepts nothing, serves until stopped.
json server_action(const json& params, sonda::Context& ctx) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw sonda::StepError("socket failed");
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(params.at("port").get<int>()));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 16) != 0) {
    const int port = params.at("port").get<int>();
    close(fd);
    throw sonda::StepError("bind 127.0.0.1:" + std::to_string(port) + ": address in use", "addr_in_use",
                           {{"port", port}, {"protocol", "tcp"}});
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ctx.ready({{"port", port}, {"address", "127.0.0.1:" + std::to_string(port)}});
  const int64_t start = sonda::Context::now_ns();
  while (!ctx.should_stop()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  close(fd);
  return {{"port", port}, {"served_ns", sonda::Context::now_ns() - start}};
}

/// Records `count` samples `interval` apart, then returns their number.
json emit_samples_action(const json& params, sonda::Context& ctx) {
  const int count = params.at("count").get<int>();
  const auto interval = std::chrono::nanoseconds(params.at("interval").get<int64_t>());
  int sent = 0;
  for (; sent < count && !ctx.should_stop(); ++sent) {
    ctx.sample({{"seq", sent}, {"t_ns", sonda::Context::now_ns()}});
    std::this_thread::sleep_for(interval);
  }
  return {{"samples", sent}, {"summary", std::to_string(sent) + " samples"}};
}

/// Misbehaves: ignores the stop flag and the deadline for `duration`.
json ignore_stop_action(const json& params, sonda::Context&) {
  std::this_thread::sleep_for(std::chrono::nanoseconds(params.at("duration").get<int64_t>()));
  return {{"ignored", true}};
}

const sonda_param_spec kSleepParams[] = {
    {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "100ms", .unit = "ns",
     .doc = "How long to sleep"},
    {.name = "value", .type = SONDA_PARAM_INT, .default_value = "0", .doc = "Echoed back as `value`"}};
const sonda_param_spec kFailParams[] = {
    {.name = "message", .type = SONDA_PARAM_STRING, .default_value = "asked to fail", .doc = "The reason"},
    {.name = "kind", .type = SONDA_PARAM_STRING, .default_value = "error", .doc = "StepError kind"},
    {.name = "port", .type = SONDA_PARAM_INT, .min = 1, .max = 65535, .doc = "Port for addr_in_use"},
    {.name = "protocol", .type = SONDA_PARAM_STRING, .default_value = "tcp", .choices = "tcp|udp",
     .doc = "Protocol for addr_in_use"}};
const sonda_param_spec kEchoParams[] = {
    {.name = "flag", .type = SONDA_PARAM_BOOL, .default_value = "false", .doc = "A boolean"},
    {.name = "count", .type = SONDA_PARAM_INT, .default_value = "1", .min = 0, .max = 1000, .doc = "An int"},
    {.name = "text", .type = SONDA_PARAM_STRING, .doc = "Any text"},
    {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "1s", .unit = "ns", .doc = "A duration"},
    {.name = "size", .type = SONDA_PARAM_SIZE, .default_value = "64B", .unit = "bytes", .doc = "A size"},
    {.name = "rate", .type = SONDA_PARAM_RATE, .default_value = "unlimited", .unit = "bits/s", .doc = "A rate"},
    {.name = "target", .type = SONDA_PARAM_ENDPOINT, .doc = "An endpoint"}};
const sonda_param_spec kServerParams[] = {
    {.name = "port", .type = SONDA_PARAM_INT, .default_value = "0", .min = 0, .max = 65535,
     .doc = "TCP port on 127.0.0.1 (0 = any free port)"}};
const sonda_param_spec kSamplesParams[] = {
    {.name = "count", .type = SONDA_PARAM_INT, .default_value = "5", .min = 0, .max = 100000, .doc = "How many"},
    {.name = "interval", .type = SONDA_PARAM_DURATION, .default_value = "10ms", .unit = "ns", .doc = "Spacing"}};
const sonda_param_spec kBigParams[] = {
    {.name = "count", .type = SONDA_PARAM_INT, .default_value = "1000", .min = 0, .max = 1000000,
     .doc = "How many socket objects"}};
const sonda_param_spec kIgnoreParams[] = {
    {.name = "duration", .type = SONDA_PARAM_DURATION, .default_value = "5s", .unit = "ns",
     .doc = "How long to ignore the stop flag"}};

const sonda::Action kActions[] = {
    {{.name = "sleep", .doc = "Sleep, honouring the stop flag", .params = kSleepParams,
      .param_count = std::size(kSleepParams)}, &sleep_action},
    {{.name = "fail", .doc = "Fail with a message and kind", .params = kFailParams,
      .param_count = std::size(kFailParams)}, &fail_action},
    {{.name = "echo_params", .doc = "Return the parameters received", .params = kEchoParams,
      .param_count = std::size(kEchoParams)}, &echo_params_action},
    {{.name = "server", .doc = "Listen on 127.0.0.1 until stopped", .flags = SONDA_ACTION_BACKGROUND,
      .params = kServerParams, .param_count = std::size(kServerParams)}, &server_action},
    {{.name = "emit_samples", .doc = "Record interval samples", .params = kSamplesParams,
      .param_count = std::size(kSamplesParams)}, &emit_samples_action},
    {{.name = "big_record", .doc = "Return a large socket-scan-like record", .params = kBigParams,
      .param_count = std::size(kBigParams)}, &big_record_action},
    {{.name = "ignore_stop", .doc = "Misbehave: ignore stop flag and deadline", .params = kIgnoreParams,
      .param_count = std::size(kIgnoreParams)}, &ignore_stop_action},
};

}  // namespace

SONDA_PLUGIN("testkit", "1.2.3", "Predictable actions for host tests", SONDA_CAP_DISCOVERY, kActions)
