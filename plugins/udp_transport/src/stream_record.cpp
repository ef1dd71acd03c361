#include "stream_record.hpp"

#include <algorithm>
#include <cstdio>

namespace sonda::udp {
namespace {

std::string human_rate(double v, const char* unit) {
  char buf[64];
  if (v >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f G%s", v / 1e9, unit);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M%s", v / 1e6, unit);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.2f k%s", v / 1e3, unit);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, unit);
  }
  return buf;
}

}  // namespace

nlohmann::json receiver_totals(const nlohmann::json& flows) {
  uint64_t received = 0, expected = 0, lost = 0, dups = 0, ooo = 0, max_dist = 0, wild = 0, too_old = 0;
  double bps = 0, pps = 0, wire = 0, jitter = 0;
  for (const nlohmann::json& f : flows) {
    received += f.value("received", uint64_t{0});
    expected += f.value("expected", uint64_t{0});
    lost += f.value("lost", uint64_t{0});
    dups += f.value("duplicates", uint64_t{0});
    ooo += f["out_of_order"].value("count", uint64_t{0});
    max_dist = std::max(max_dist, f["out_of_order"].value("max_distance", uint64_t{0}));
    wild += f["malformed"].value("wild_seq", uint64_t{0});
    too_old += f["malformed"].value("too_old", uint64_t{0});
    bps += f.value("bits_per_sec", 0.0);
    pps += f.value("packets_per_sec", 0.0);
    wire += f.value("wire_bits_per_sec", 0.0);
    jitter = std::max(jitter, f.value("jitter_ns", 0.0));
  }
  nlohmann::json t = {{"received", received},
                      {"expected", expected},
                      {"lost", lost},
                      {"loss_ratio", expected > 0 ? static_cast<double>(lost) / static_cast<double>(expected) : 0.0},
                      {"duplicates", dups},
                      {"out_of_order", {{"count", ooo}, {"max_distance", max_dist}}},
                      {"malformed", {{"wild_seq", wild}, {"too_old", too_old}}},
                      {"jitter_ns", jitter},
                      {"bits_per_sec", bps},
                      {"packets_per_sec", pps},
                      {"wire_bits_per_sec", wire}};
  if (flows.size() == 1 && flows[0].contains("one_way_delay")) {
    t["one_way_delay"] = flows[0]["one_way_delay"];
  }
  return t;
}

std::vector<nlohmann::json> interval_samples(const nlohmann::json& flows) {
  std::vector<nlohmann::json> out;
  for (const nlohmann::json& f : flows) {
    if (!f.contains("intervals")) {
      continue;
    }
    const nlohmann::json& iv = f["intervals"];
    for (size_t i = 0; i < iv.size(); ++i) {
      if (out.size() <= i) {
        out.push_back({{"interval", i}, {"offset_ns", iv[i]["offset_ns"]}, {"interval_ns", iv[i]["interval_ns"]},
                       {"packets", 0}, {"bytes", 0}, {"bits_per_sec", 0.0}, {"packets_per_sec", 0.0}});
      }
      nlohmann::json& s = out[i];
      s["packets"] = s["packets"].get<uint64_t>() + iv[i].value("packets", uint64_t{0});
      s["bytes"] = s["bytes"].get<uint64_t>() + iv[i].value("bytes", uint64_t{0});
      s["bits_per_sec"] = s["bits_per_sec"].get<double>() + iv[i].value("bits_per_sec", 0.0);
      s["packets_per_sec"] = s["packets_per_sec"].get<double>() + iv[i].value("packets_per_sec", 0.0);
    }
  }
  return out;
}

nlohmann::json stream_record(const std::string& mode, const std::string& target, const StreamShape& shape,
                             const std::vector<SendResult>& sent, const nlohmann::json& receiver_flows,
                             const std::string& receiver_note) {
  nlohmann::json sender = sender_totals(sent, shape.rate, shape.payload_bytes);
  nlohmann::json rec = {{"mode", mode},
                        {"target", target},
                        {"payload_bytes", shape.payload_bytes},
                        {"flows", shape.flows},
                        {"sender", sender}};
  std::string summary = "udp stream " + std::to_string(shape.payload_bytes) + " B x" +
                        std::to_string(shape.flows) + " (" + mode + ") to " + target + ": sent " +
                        std::to_string(sender["sent"].get<uint64_t>()) + " (" +
                        human_rate(sender["packets_per_sec"].get<double>(), "pps") +
                        (sender["rate_held"].get<bool>() ? ", rate held" : ", rate NOT held") + ")";
  if (receiver_flows.is_array()) {
    nlohmann::json recv = receiver_totals(receiver_flows);
    nlohmann::json flows = receiver_flows;
    for (nlohmann::json& f : flows) {
      f.erase("intervals");
    }
    recv["flows"] = std::move(flows);
    char loss[64];
    std::snprintf(loss, sizeof loss, "%.4f%%", recv["loss_ratio"].get<double>() * 100.0);
    char jit[64];
    std::snprintf(jit, sizeof jit, "%.1f us", recv["jitter_ns"].get<double>() / 1000.0);
    summary += "; received " + std::to_string(recv["received"].get<uint64_t>()) + " (" +
               human_rate(recv["packets_per_sec"].get<double>(), "pps") + ", " +
               human_rate(recv["bits_per_sec"].get<double>(), "bit/s") + "), lost " +
               std::to_string(recv["lost"].get<uint64_t>()) + " (" + loss + "), dup " +
               std::to_string(recv["duplicates"].get<uint64_t>()) + ", reordered " +
               std::to_string(recv["out_of_order"]["count"].get<uint64_t>()) + ", jitter " + jit;
    rec["receiver"] = std::move(recv);
  } else {
    rec["receiver"] = nullptr;
    summary += "; no receiver figures (" + receiver_note + ")";
  }
  if (!receiver_note.empty()) {
    rec["receiver_note"] = receiver_note;
  }
  rec["summary"] = summary;
  return rec;
}

}  // namespace sonda::udp
