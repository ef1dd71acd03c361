// `stream`: bulk throughput over one or more connections, measured at the
// receiver (see wire.hpp for how a forward stream learns the server's count).
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <memory>
#include <thread>

#include "actions.hpp"
#include "stream_worker.hpp"

namespace sonda::tcp {
namespace {

/// Receiver-side cumulative payload bytes of one connection, right now.
uint64_t receiver_bytes_now(StreamConnection& s, bool handshake) {
  if (!s.forward) {
    return s.bytes.load(std::memory_order_relaxed);
  }
  if (handshake && s.reported.load(std::memory_order_acquire)) {
    return s.reported_bytes.load(std::memory_order_relaxed);  // the send loop reads the reports
  }
  const TcpInfoSnapshot info = read_tcp_info(s.fd.get());
  const uint64_t hello = handshake ? wire::kHelloBytes : 0;
  return info.bytes_acked > hello ? info.bytes_acked - hello : 0;
}

/// A forward stream that no sonda report will end (handshake off, or a peer
/// that is not sonda): waits up to `timeout_ns` for the peer's TCP to
/// acknowledge every byte sent, so the acked count is the whole stream and
/// its interval ends at the last acknowledgement, not at the last send()
/// while megabytes still sat in the send buffer.
void await_acks(StreamConnection& s, bool handshake, int64_t timeout_ns) {
  const uint64_t want = s.bytes.load() + (handshake ? wire::kHelloBytes : 0);
  const int64_t give_up_ns = common::monotonic_ns() + timeout_ns;
  for (;;) {
    const TcpInfoSnapshot info = read_tcp_info(s.fd.get());
    const int64_t now = common::monotonic_ns();
    if (!info.valid || info.bytes_acked >= want || now >= give_up_ns) {
      if (info.valid && info.bytes_acked >= want) {
        s.last_byte_ns = std::max(s.last_byte_ns, now);
      }
      return;
    }
    if (s.foreign_peer) {
      s.drain_reports(0);  // an echo server reads on only once its copy of our bytes is read
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

/// Totals of one direction: what the receiver got and how that was measured.
json direction_totals(std::vector<std::unique_ptr<StreamConnection>>& conns, bool forward, bool handshake,
                      int64_t start_ns, uint64_t& retransmits) {
  uint64_t client_bytes = 0;
  uint64_t receiver_bytes = 0;
  int64_t elapsed_ns = 0;
  int64_t client_cpu_ns = 0;
  uint64_t server_cpu_ns = 0;
  bool all_reported = true;
  int64_t first_ns = INT64_MAX;
  int64_t last_ns = 0;
  json streams = json::array();
  for (auto& s : conns) {
    if (s->forward != forward) {
      continue;
    }
    const uint64_t sent_or_got = s->bytes.load();
    client_bytes += sent_or_got;
    client_cpu_ns += s->cpu_ns;
    retransmits += s->tcp_info.total_retransmits;
    json st = {{"bytes", sent_or_got}, {"tcp_info", s->tcp_info.to_json()}, {"cpu_ns", s->cpu_ns}};
    if (forward) {
      all_reported = all_reported && s->final_report;
      if (s->final_report) {
        receiver_bytes += s->latest_report.bytes;
        server_cpu_ns += s->latest_report.cpu_ns;
        elapsed_ns = std::max<int64_t>(elapsed_ns, static_cast<int64_t>(s->latest_report.elapsed_ns));
        st["receiver_bytes"] = s->latest_report.bytes;
      }
      last_ns = std::max(last_ns, s->last_byte_ns);
    } else {
      receiver_bytes += sent_or_got;
      if (s->first_byte_ns != 0) {
        first_ns = std::min(first_ns, s->first_byte_ns);
        last_ns = std::max(last_ns, s->last_byte_ns);
      }
    }
    streams.push_back(std::move(st));
  }
  json out;
  std::string measured_by;
  if (!forward) {
    measured_by = "receiver: this client, first to last byte";
    elapsed_ns = first_ns == INT64_MAX ? 0 : last_ns - first_ns;
    out["cpu"] = {{"receiver_ns", client_cpu_ns}};
  } else if (all_reported) {
    measured_by = "receiver: sonda server report, first byte to EOF";
    out["cpu"] = {{"sender_ns", client_cpu_ns}, {"receiver_ns", server_cpu_ns}};
  } else {
    // Not a sonda server (or handshake off): the best the sender knows is
    // what the peer's TCP acknowledged.
    measured_by = "sender: TCP_INFO tcpi_bytes_acked (peer sent no sonda report)";
    receiver_bytes = 0;
    uint64_t returned = 0;
    const uint64_t hello = handshake ? wire::kHelloBytes : 0;
    for (auto& s : conns) {
      if (s->forward) {
        const uint64_t acked = s->tcp_info.bytes_acked > hello ? s->tcp_info.bytes_acked - hello : 0;
        receiver_bytes += std::min(acked, s->bytes.load());
        returned += s->foreign_bytes;
      }
    }
    elapsed_ns = last_ns - start_ns;
    out["cpu"] = {{"sender_ns", client_cpu_ns}};
    // What the peer sent back (an echo server: our hello and bytes), read
    // and discarded as the stream went so that it never stalled.
    out["returned_bytes"] = returned;
  }
  const double bps = elapsed_ns > 0 ? static_cast<double>(receiver_bytes) * 8e9 / static_cast<double>(elapsed_ns) : 0;
  out[forward ? "bytes_sent" : "bytes_received"] = client_bytes;
  out["receiver_bytes"] = receiver_bytes;
  out["elapsed_ns"] = elapsed_ns;
  out["bits_per_sec"] = bps;
  out["measured_by"] = measured_by;
  out["streams"] = std::move(streams);
  return out;
}

}  // namespace

json stream(const StreamOptions& o, Context& ctx) {
  const common::SockAddr addr = common::resolve_endpoint(o.target, SOCK_STREAM);
  const std::string target = addr.to_string();

  std::vector<std::unique_ptr<StreamConnection>> conns;
  const bool sendfile = uses_sendfile(o.sendfile, o.message_bytes, o.zerocopy);
  const int n_forward = o.reverse ? 0 : o.parallel;
  const int n_reverse = (o.reverse || o.bidir) ? o.parallel : 0;
  for (int i = 0; i < n_forward + n_reverse; ++i) {
    auto s = std::make_unique<StreamConnection>();
    s->forward = i < n_forward;
    s->target_text = target;
    const int64_t share = s->forward ? n_forward : n_reverse;
    const int64_t index = s->forward ? i : i - n_forward;
    if (o.bytes > 0) {
      s->quota_bytes = static_cast<uint64_t>(o.bytes / share + (index < o.bytes % share ? 1 : 0));
    }
    s->fd = connect_to(addr, target, o.tuning, o.timeout_ns);
    if (o.handshake) {
      wire::Hello h;
      h.op = s->forward ? wire::Op::kSink : wire::Op::kSource;
      h.report_interval_ms = static_cast<uint32_t>(std::max<int64_t>(10, o.interval_ns / 10 / 1'000'000));
      h.flags = (o.recv_trunc ? wire::kFlagRecvTrunc : 0) | (o.recv_mmap ? wire::kFlagRecvMmap : 0) |
                (sendfile ? wire::kFlagSendfile : 0);
      const auto b = wire::encode(h);
      send_all(s->fd.get(), b.data(), b.size(), target);
    }
    set_io_timeout(s->fd.get(), kStreamWakeNs);
    conns.push_back(std::move(s));
  }

  std::atomic<bool> stop{false};
  const int64_t start_ns = common::monotonic_ns();
  const int64_t end_ns = o.bytes > 0 ? INT64_MAX : start_ns + o.duration_ns;
  std::atomic<size_t> finished{0};
  // Joins the workers however this scope is left: an exception while they
  // run must not destroy joinable threads (std::terminate).
  struct Joiner {
    std::vector<std::thread>& threads;
    std::atomic<bool>& stop;
    ~Joiner() {
      stop.store(true);
      for (auto& t : threads) {
        if (t.joinable()) {
          t.join();
        }
      }
    }
  };
  std::vector<std::thread> threads;
  Joiner joiner{threads, stop};
  threads.reserve(conns.size());
  for (auto& s : conns) {
    threads.emplace_back([&o, &stop, &finished, end_ns, c = s.get()] {
      c->run(o, end_ns, stop);
      finished.fetch_add(1);
    });
  }

  // Interval samples: receiver cumulative counts per direction at each tick.
  uint64_t prev[2] = {0, 0};
  int64_t prev_ns = start_ns;
  int64_t next_tick_ns = start_ns + o.interval_ns;
  for (;;) {
    const int64_t now = common::monotonic_ns();
    if (ctx.should_stop()) {
      stop.store(true);
    }
    if (finished.load() == conns.size()) {
      break;
    }
    if (now >= next_tick_ns) {
      uint64_t cur[2] = {0, 0};
      for (auto& s : conns) {
        cur[s->forward ? 0 : 1] += receiver_bytes_now(*s, o.handshake);
      }
      const double dt = static_cast<double>(now - prev_ns);
      json sample = {{"t_ns", now - start_ns}, {"interval_ns", now - prev_ns}};
      double total_bps = 0;
      const char* names[2] = {"sent", "received"};
      for (int d = 0; d < 2; ++d) {
        if ((d == 0 && n_forward == 0) || (d == 1 && n_reverse == 0)) {
          continue;
        }
        const uint64_t delta = cur[d] >= prev[d] ? cur[d] - prev[d] : 0;
        const double bps = static_cast<double>(delta) * 8e9 / dt;
        sample[names[d]] = {{"bytes", delta}, {"bits_per_sec", bps}};
        total_bps += bps;
        prev[d] = cur[d];
      }
      sample["bits_per_sec"] = total_bps;
      ctx.sample(sample);
      prev_ns = now;
      next_tick_ns += o.interval_ns;
    }
    const int64_t sleep_ns = std::min<int64_t>(next_tick_ns - common::monotonic_ns(), 20'000'000);
    if (sleep_ns > 0) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(sleep_ns));
    }
  }
  for (auto& t : threads) {
    t.join();
  }
  // Forward streams: wait for each server's final report, which comes once
  // the server has read everything still queued. A peer that is not sonda
  // usually closes on our EOF, which ends the wait at once; one that does
  // not costs up to `timeout`.
  for (auto& s : conns) {
    if (s->forward && o.handshake && !s->error) {
      s->drain_reports(o.timeout_ns);
    }
    if (s->forward && !s->final_report && !s->error) {
      await_acks(*s, o.handshake, o.timeout_ns);
    }
    if (s->forward) {
      s->tcp_info = read_tcp_info(s->fd.get());
    }
  }
  for (auto& s : conns) {
    if (s->error) {
      std::rethrow_exception(s->error);
    }
  }

  uint64_t retransmits = 0;
  json record = {{"target", target},
                 {"direction", o.bidir ? "bidir" : (o.reverse ? "reverse" : "forward")},
                 {"parallel", o.parallel},
                 {"message_size_bytes", o.message_bytes},
                 {"recv_size_bytes", o.recv_bytes},
                 {"send_buffer_bytes", o.tuning.send_buffer_bytes.value_or(0)},
                 {"recv_buffer_bytes", o.tuning.recv_buffer_bytes.value_or(0)},
                 {"recv_trunc", o.recv_trunc},
                 {"recv_mmap", o.recv_mmap},
                 {"recv_mode", o.recv_trunc  ? "MSG_TRUNC: receiver skipped the copy to user space"
                               : o.recv_mmap ? "TCP_ZEROCOPY_RECEIVE: receiver mapped what the kernel could and "
                                               "copied the rest (its record counts both)"
                                             : "copy"},
                 {"send_mode", o.zerocopy ? "MSG_ZEROCOPY" : (sendfile ? "sendfile" : "copy")},
                 {"duration_ns", common::monotonic_ns() - start_ns}};
  uint64_t zc_sends = 0;
  uint64_t zc_completed = 0;
  uint64_t zc_copied = 0;
  if (o.recv_mmap && n_reverse > 0) {
    // This client received: its own counts (a sonda server's are in its record).
    uint64_t mapped = 0;
    uint64_t copied = 0;
    std::string refused;
    for (auto& s : conns) {
      if (!s->forward) {
        mapped += s->mmap_mapped;
        copied += s->mmap_copied;
        refused = refused.empty() ? s->mmap_refused : refused;
      }
    }
    record["mmap_receive"] = {{"mapped_bytes", mapped}, {"copied_bytes", copied},
                              {"refused", refused.empty() ? json(nullptr) : json(refused)}};
  }
  if (o.zerocopy) {
    for (auto& s : conns) {
      zc_sends += s->zc_sends;
      zc_completed += s->zc_completed;
      zc_copied += s->zc_copied;
    }
    record["zerocopy"] = {{"sends", zc_sends}, {"completed", zc_completed}, {"copied_by_kernel", zc_copied}};
  }
  double total_bps = 0;
  uint64_t total_bytes = 0;
  std::string summary = "stream " + target + ":";
  if (n_forward > 0) {
    json sent = direction_totals(conns, true, o.handshake, start_ns, retransmits);
    total_bps += sent["bits_per_sec"].get<double>();
    total_bytes += sent["receiver_bytes"].get<uint64_t>();
    summary += " " + format_bits_per_sec(sent["bits_per_sec"].get<double>()) +
               (n_reverse > 0 ? " sent (received by server)," : " received,");
    if (sent["measured_by"].get<std::string>().rfind("sender", 0) == 0) {
      summary.pop_back();
      summary += " [acked, peer not sonda],";
    }
    record["sent"] = std::move(sent);
  }
  if (n_reverse > 0) {
    json got = direction_totals(conns, false, o.handshake, start_ns, retransmits);
    total_bps += got["bits_per_sec"].get<double>();
    total_bytes += got["receiver_bytes"].get<uint64_t>();
    summary += " " + format_bits_per_sec(got["bits_per_sec"].get<double>()) + " received,";
    record["received"] = std::move(got);
  }
  record["bytes"] = total_bytes;
  record["bits_per_sec"] = total_bps;
  record["retransmits"] = retransmits;
  summary += " " + std::to_string(retransmits) + " retransmits";
  if (o.recv_trunc) {
    summary += " (MSG_TRUNC receive)";
  }
  if (o.recv_mmap) {
    summary += " (TCP_ZEROCOPY_RECEIVE receive)";
  }
  if (sendfile && n_forward > 0) {
    std::string where;
    for (auto& s : conns) {
      where = s->forward && !s->payload_where.empty() ? s->payload_where : where;
    }
    record["sendfile_payload"] = where;
  }
  if (o.zerocopy) {
    summary += " (MSG_ZEROCOPY send: the kernel copied " + std::to_string(zc_copied) + " of " +
               std::to_string(zc_completed) + " released sends)";
  }
  record["summary"] = summary;
  return record;
}

}  // namespace sonda::tcp
