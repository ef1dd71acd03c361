#include "options.hpp"

#include <sonda/plugin.hpp>

namespace sonda::tcp {
namespace {

/// Integer parameter in [lo, hi]; absent -> fallback.
int64_t get_int(const json& p, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  if (!p.contains(name) || p[name].is_null()) {
    return fallback;
  }
  const json& v = p[name];
  if (!v.is_number_integer() && !(v.is_number_float() && v.get<double>() == static_cast<int64_t>(v.get<double>()))) {
    invalid_param(name, "expected an integer, got " + v.dump());
  }
  const int64_t x = v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
  if (x < lo || x > hi) {
    invalid_param(name, std::to_string(x) + " out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return x;
}

bool get_bool(const json& p, const char* name, bool fallback) {
  if (!p.contains(name) || p[name].is_null()) {
    return fallback;
  }
  if (!p[name].is_boolean()) {
    invalid_param(name, "expected true or false, got " + p[name].dump());
  }
  return p[name].get<bool>();
}

std::string get_string(const json& p, const char* name, const std::string& fallback) {
  if (!p.contains(name) || p[name].is_null()) {
    return fallback;
  }
  if (!p[name].is_string()) {
    invalid_param(name, "expected a string, got " + p[name].dump());
  }
  return p[name].get<std::string>();
}

std::string required_endpoint(const json& p, const char* name) {
  const std::string v = get_string(p, name, "");
  if (v.empty()) {
    invalid_param(name, "required (host:port)");
  }
  return v;
}

constexpr int64_t kMaxDurationNs = 24LL * 3600 * 1'000'000'000;
constexpr int64_t kMaxSocketBufferBytes = 1LL << 30;

SocketTuning parse_tuning(const json& p, bool nodelay_default) {
  SocketTuning t;
  t.send_buffer_bytes = get_int(p, "sndbuf", kDefaultSocketBufferBytes, 0, kMaxSocketBufferBytes);
  t.recv_buffer_bytes = get_int(p, "rcvbuf", kDefaultSocketBufferBytes, 0, kMaxSocketBufferBytes);
  t.nodelay = get_bool(p, "nodelay", nodelay_default);
  t.congestion = get_string(p, "congestion", "");
  if (t.congestion.size() > 15) {
    invalid_param("congestion", "name longer than 15 characters (TCP_CA_NAME_MAX)");
  }
  t.mss_bytes = get_int(p, "mss", 0, 0, 65495);
  if (t.mss_bytes != 0 && t.mss_bytes < 88) {
    invalid_param("mss", std::to_string(t.mss_bytes) + " below the kernel minimum of 88 bytes");
  }
  return t;
}

}  // namespace

ServerOptions parse_server_options(const json& p) {
  ServerOptions o;
  o.listen = get_string(p, "listen", o.listen);
  o.mode = get_string(p, "mode", o.mode);
  if (o.mode != "sink" && o.mode != "source" && o.mode != "echo") {
    invalid_param("mode", "'" + o.mode + "' is not one of sink|source|echo");
  }
  o.message_bytes = get_int(p, "size", o.message_bytes, 1, 64LL << 20);
  o.recv_trunc = get_bool(p, "recv_trunc", false);
  o.backlog = static_cast<int>(get_int(p, "backlog", o.backlog, 1, 65535));
  o.tuning = parse_tuning(p, true);
  return o;
}

StreamOptions parse_stream_options(const json& p) {
  StreamOptions o;
  o.target = required_endpoint(p, "target");
  o.duration_ns = get_int(p, "duration", o.duration_ns, 1'000'000, kMaxDurationNs);
  o.bytes = get_int(p, "bytes", 0, 0, INT64_MAX / 2);
  o.parallel = static_cast<int>(get_int(p, "parallel", 1, 1, 128));
  o.reverse = get_bool(p, "reverse", false);
  o.bidir = get_bool(p, "bidir", false);
  if (o.reverse && o.bidir) {
    invalid_param("bidir", "cannot be combined with reverse (bidir already runs both directions)");
  }
  o.message_bytes = get_int(p, "size", o.message_bytes, 1, 64LL << 20);
  o.interval_ns = get_int(p, "interval", o.interval_ns, 10'000'000, kMaxDurationNs);
  o.recv_trunc = get_bool(p, "recv_trunc", false);
  o.handshake = get_bool(p, "handshake", true);
  o.timeout_ns = get_int(p, "timeout", o.timeout_ns, 1'000'000, kMaxDurationNs);
  o.tuning = parse_tuning(p, false);
  return o;
}

RrOptions parse_rr_options(const json& p, bool is_crr) {
  RrOptions o;
  o.target = required_endpoint(p, "target");
  o.duration_ns = get_int(p, "duration", o.duration_ns, 1'000'000, kMaxDurationNs);
  o.payload_bytes = get_int(p, "size", 64, 1, 64LL << 20);
  o.response_bytes = get_int(p, "response_size", 0, 0, 64LL << 20);
  o.connections = static_cast<int>(get_int(p, "parallel", 1, 1, 1024));
  o.outstanding = is_crr ? 1 : static_cast<int>(get_int(p, "outstanding", 1, 1, 4096));
  if (p.contains("rate") && p["rate"].is_object()) {
    const json& r = p["rate"];
    if (r.contains("packets_per_sec")) {
      o.rate_per_sec = r["packets_per_sec"].get<double>();
    } else if (r.contains("bits_per_sec")) {
      invalid_param("rate", "give transactions per second (e.g. 10kpps), not bits per second");
    }
    if (o.rate_per_sec < 0) {
      invalid_param("rate", "must be positive");
    }
  }
  o.warmup_ns = get_int(p, "warmup", 0, 0, kMaxDurationNs);
  if (o.warmup_ns >= o.duration_ns) {
    invalid_param("warmup", "must be shorter than duration");
  }
  o.interval_ns = get_int(p, "interval", o.interval_ns, 10'000'000, kMaxDurationNs);
  o.verify = get_bool(p, "verify", false);
  if (o.verify && o.response_bytes != 0 && o.response_bytes != o.payload_bytes) {
    invalid_param("verify", "needs an echo: response_size must equal size");
  }
  o.timeout_ns = get_int(p, "timeout", o.timeout_ns, 1'000'000, kMaxDurationNs);
  // Request/response is latency-bound: small writes must not wait for Nagle.
  o.tuning = parse_tuning(p, true);
  // rr/crr move small messages; the kernel's autotuned buffers are right.
  if (!p.contains("sndbuf")) {
    o.tuning.send_buffer_bytes = 0;
  }
  if (!p.contains("rcvbuf")) {
    o.tuning.recv_buffer_bytes = 0;
  }
  return o;
}

}  // namespace sonda::tcp
