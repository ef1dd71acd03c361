// The rules across tcp_transport parameters, and the kernel limits the
// parameter specs cannot say. Types, ranges, choices and defaults come from
// the tables in options.hpp.
#include "options.hpp"

namespace sonda::tcp {
namespace {

void check_tuning(const SocketTuning& t) {
  if (t.congestion && t.congestion->size() > 15) {
    invalid_param("congestion", "name longer than 15 characters (TCP_CA_NAME_MAX)");
  }
  if (t.mss_bytes != 0 && t.mss_bytes < 88) {
    invalid_param("mss", std::to_string(t.mss_bytes) + " below the kernel minimum of 88 bytes");
  }
}

}  // namespace

void check_server_options(const ServerOptions& o) {
  if (o.recv_trunc && o.recv_mmap) {
    invalid_param("recv_mmap", "cannot be combined with recv_trunc (one receive path at a time)");
  }
  check_tuning(o.tuning);
}

void check_stream_options(const StreamOptions& o) {
  if (o.reverse && o.bidir) {
    invalid_param("bidir", "cannot be combined with reverse (bidir already runs both directions)");
  }
  if (o.recv_trunc && o.recv_mmap) {
    invalid_param("recv_mmap", "cannot be combined with recv_trunc (one receive path at a time)");
  }
  if (o.zerocopy && o.reverse) {
    invalid_param("zerocopy", "applies to the client's sends: not with reverse (the server sends)");
  }
  if (o.sendfile.value_or(false) && o.zerocopy) {
    invalid_param("sendfile", "cannot be combined with zerocopy (one send path at a time)");
  }
  check_tuning(o.tuning);
}

void check_rr_options(const RrOptions& o) {
  if (o.rate.unit == Rate::Unit::kBitsPerSec) {
    invalid_param("rate", "give transactions per second (e.g. 10kpps), not bits per second");
  }
  if (o.warmup_ns >= o.duration_ns) {
    invalid_param("warmup", "must be shorter than duration");
  }
  if (o.verify && o.response_bytes != 0 && o.response_bytes != o.payload_bytes) {
    invalid_param("verify", "needs an echo: response_size must equal size");
  }
  check_tuning(o.tuning);
}

}  // namespace sonda::tcp
