// Reading a finished run for `sonda report`: where its files are (a run
// directory, `latest`, a results directory) and run.json, or the same
// document rebuilt from events.jsonl when the run died before writing it.
#include <malloc.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "html_report_internal.hpp"
#include "results.hpp"

namespace sonda {

namespace fs = std::filesystem;
using nlohmann::json;
using html::member;

namespace html {

std::string read_file(const std::string& path) {
  // One read into a string of the file's size: a run.json of a 19 000-socket
  // scan is ~20 MB, and a growing stream buffer would copy it several times.
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    throw ReportError(path + ": cannot read: " + std::strerror(errno));
  }
  std::string text(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) {
    throw ReportError(path + ": cannot read");
  }
  return text;
}

}  // namespace html

namespace {

/// Parsing run.json makes millions of small tree nodes: the 17 MB run.json of
/// a 19 000-socket scan takes ~75 MB of heap. On the VMs sonda is measured on a
/// first-touched 4 KiB page costs ~10 us (a trap to the hypervisor): 23 700
/// faults were half of the report's 0.7 s. A transparent huge page costs
/// ~0.2 ms for 2 MiB (plugins/common/huge_page_allocator.hpp measures the
/// same for scans). So, before reading, grow malloc's heap by what the tree
/// will take, advise it MADV_HUGEPAGE and hand it back to malloc, untrimmed:
/// the nodes then land in huge pages (measured: 1 400 faults, half the time).
/// Advice only: where THP is "never" nothing changes.
void reserve_huge_page_heap(size_t bytes) {
  constexpr size_t kChunk = size_t{16} << 20;  // below glibc's mmap threshold cap (32 MiB): from the heap
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // keep the top of the heap when the chunks are freed
  std::vector<void*> chunks;
  for (size_t got = 0; got < bytes; got += kChunk) {
    void* p = std::malloc(kChunk);
    if (p == nullptr) {
      break;
    }
    chunks.push_back(p);
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + kChunk) & ~(kHuge - 1);
    if (end > begin) {
      ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
    }
  }
  for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) {
    std::free(*it);
  }
}

/// The file to read for `arg`: run.json or events.jsonl (see read_run).
fs::path locate_run_file(const std::string& arg) {
  const fs::path p(arg);
  std::error_code ec;
  const fs::file_status st = fs::status(p, ec);
  if (!fs::exists(st)) {
    throw ReportError(arg + ": no such file or directory (expected a run directory such as "
                      "results/<scenario>/latest, or its run.json)");
  }
  if (fs::is_regular_file(st)) {
    return p;
  }
  if (!fs::is_directory(st)) {
    throw ReportError(arg + ": not a file or directory");
  }
  for (const char* name : {"run.json", "events.jsonl"}) {
    if (fs::is_regular_file(p / name, ec)) {
      return p / name;
    }
  }
  if (fs::exists(p / "latest", ec)) {
    return locate_run_file((p / "latest").string());
  }
  // A results directory: one scenario directory with a `latest` link.
  std::set<std::string> scenarios;
  for (const auto& entry : fs::directory_iterator(p, ec)) {
    if (fs::exists(entry.path() / "latest", ec)) {
      scenarios.insert(entry.path().filename().string());
    }
  }
  if (scenarios.size() == 1) {
    return locate_run_file((p / *scenarios.begin() / "latest").string());
  }
  if (scenarios.size() > 1) {
    std::string names;
    for (const auto& s : scenarios) names += (names.empty() ? "" : ", ") + s;
    throw ReportError(arg + ": holds the runs of several scenarios (" + names + "); name one, e.g. " +
                      (p / *scenarios.begin() / "latest").string());
  }
  throw ReportError(arg + ": not a run directory: no run.json or events.jsonl in it, and no 'latest' link "
                          "(expected results/<scenario>/<UTC time>, results/<scenario>/latest or a run.json)");
}

/// run.json's shape from the events of a run that never wrote it (killed):
/// every step that ended, those still running with the samples they sent.
json run_from_events(const fs::path& file) {
  json run = {{"schema_version", kResultSchemaVersion}, {"status", "died"}, {"steps", json::array()},
              {"expectations", json::array()}, {"reports", json::array()}};
  std::map<std::string, json> started;  // step_start events without a step_end yet
  std::vector<std::string> started_order;
  std::map<std::string, json> samples;
  std::ifstream in(file);
  std::string line;
  bool ended = false;
  while (std::getline(in, line)) {
    json e = json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.is_object()) {
      continue;  // the line being written when the process died
    }
    const std::string type = e.value("event", "");
    e.erase("event");
    if (type == "run_start") {
      run["scenario"] = {{"name", e.value("scenario", "")}};
      run["started_at"] = e.value("ts", "");
      for (const char* k : {"run_dir", "sonda", "context"}) {
        if (e.contains(k)) run[k] = e[k];
      }
    } else if (type == "step_start") {
      const std::string id = e.value("id", "");
      started_order.push_back(id);
      started[id] = std::move(e);
    } else if (type == "sample") {
      samples[e.value("id", "")].push_back(e["sample"]);
    } else if (type == "step_end") {
      started.erase(e.value("id", ""));
      e.erase("ts");
      run["steps"].push_back(std::move(e));
    } else if (type == "expectation") {
      e.erase("ts");
      run["expectations"].push_back(std::move(e));
    } else if (type == "report") {
      e.erase("ts");
      run["reports"].push_back(std::move(e));
    } else if (type == "run_end") {
      ended = true;
      for (const char* k : {"status", "exit_code", "duration_ns"}) {
        if (e.contains(k)) run[k] = e[k];
      }
    }
  }
  for (const auto& id : started_order) {
    auto it = started.find(id);
    if (it == started.end()) {
      continue;
    }
    json step = it->second;
    step["status"] = "died";
    step["reason"] = "no step_end in events.jsonl: the run ended while this step ran";
    step["samples"] = samples.count(id) != 0 ? samples[id] : json::array();
    step.erase("ts");
    run["steps"].push_back(std::move(step));
  }
  if (!ended) {
    run["status"] = "died";
  }
  return run;
}

}  // namespace

RunDocument read_run(const std::string& arg) {
  const fs::path file = locate_run_file(arg);
  RunDocument doc;
  std::error_code ec;
  const fs::path canonical = fs::canonical(file, ec);
  doc.source = (ec ? file : canonical).string();
  doc.dir = fs::path(doc.source).parent_path().string();
  if (fs::path(doc.source).filename() == "events.jsonl") {
    doc.run = run_from_events(doc.source);
    load_record_files(doc.run["steps"], doc.dir);
    return doc;
  }
  std::error_code size_ec;
  uintmax_t size = fs::file_size(doc.source, size_ec);
  for (const auto& entry : fs::directory_iterator(fs::path(doc.dir) / "records", ec)) {
    std::error_code entry_ec;
    const uintmax_t n = entry.file_size(entry_ec);
    size += entry_ec ? 0 : n;  // large records are files of their own
  }
  if (!size_ec && size > (uintmax_t{4} << 20)) {
    reserve_huge_page_heap(static_cast<size_t>(size) * 6);  // the text, then ~4.5x as a tree
  }
  doc.run = json::parse(html::read_file(doc.source), nullptr, false);
  if (doc.run.is_discarded()) {
    throw ReportError(doc.source + ": not valid JSON (a run.json being written? the run's events.jsonl can be "
                                   "read instead: pass it)");
  }
  if (!doc.run.is_object() || !member(doc.run, "steps").is_array()) {
    throw ReportError(doc.source + ": not a sonda run.json (no steps array)");
  }
  // Records of 1 MiB or more are files of their own (results/README.md).
  load_record_files(doc.run["steps"], doc.dir);
  return doc;
}

}  // namespace sonda
