// What `sonda report` costs on a run with a ~19 000-socket proc_scanner
// scan (issue #13: <= 1 s and <= 5 MB of HTML), next to its peer, parsing
// the same run.json with nlohmann alone:
//   the whole command (a `sonda report` process: start, plugins, write)
//   the report in-process (read run.json, render, write)
//   peer: json::parse of run.json
// Set-up (once, not timed): a child process holds ~19 000 loopback sockets
// (TCP listeners and established pairs, UDP bound and connected, as
// tools/proc_vs_ss.py makes them) while `sonda run` scans them and runs a
// short TCP stream and RR for the charts. Counters: html_bytes, sockets.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "html_report.hpp"

extern char** environ;

namespace sonda {
namespace {

namespace fs = std::filesystem;

sockaddr_in loopback(const char* addr, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, addr, &a.sin_addr);
  return a;
}

/// In the child: `total` sockets on 127.77.X.1 (servers) / .2 (clients).
/// Returns how many it made.
size_t make_sockets(size_t total) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  const std::string prefix = "127.77." + std::to_string(getpid() % 250) + ".";
  const std::string server = prefix + "1";
  const std::string client = prefix + "2";
  const size_t listeners = 50;
  const size_t udp_bound = total / 40;
  const size_t udp_connected = total / 40;
  const size_t pairs = (total - listeners - udp_bound - udp_connected) / 2;
  std::vector<sockaddr_in> listening;
  std::vector<int> listen_fds;
  size_t made = 0;
  for (size_t i = 0; i < listeners; ++i) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(server.c_str(), 0);
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s, 4096) != 0 ||
        getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return made;
    }
    listening.push_back(a);
    listen_fds.push_back(s);
    ++made;
  }
  for (size_t i = 0; i < pairs; ++i) {
    const int c = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in from = loopback(client.c_str(), 0);
    const sockaddr_in& to = listening[i % listeners];
    if (c < 0 || bind(c, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        connect(c, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
      return made;
    }
    const int a = accept(listen_fds[i % listeners], nullptr, nullptr);
    if (a < 0) {
      return made;
    }
    made += 2;
  }
  std::vector<sockaddr_in> udp;
  for (size_t i = 0; i < udp_bound; ++i) {
    const int u = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a = loopback(server.c_str(), 0);
    socklen_t len = sizeof a;
    if (u < 0 || bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(u, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return made;
    }
    udp.push_back(a);
    ++made;
  }
  for (size_t i = 0; i < udp_connected && !udp.empty(); ++i) {
    const int u = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in from = loopback(client.c_str(), 0);
    if (u < 0 || bind(u, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        connect(u, reinterpret_cast<const sockaddr*>(&udp[i % udp.size()]), sizeof(sockaddr_in)) != 0) {
      return made;
    }
    ++made;
  }
  return made;
}

int spawn_and_wait(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return -1;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// The run directory, made once per process and removed at exit; `why`
/// says what failed.
struct BigRun {
  std::string scratch;
  std::string dir;
  size_t sockets = 0;  ///< sockets the holder made
  std::string why;
  ~BigRun() {
    std::error_code ec;
    if (!scratch.empty()) fs::remove_all(scratch, ec);
  }
};

const BigRun& big_run() {
  static const std::unique_ptr<BigRun> run = [] {
    auto owned = std::make_unique<BigRun>();
    BigRun& r = *owned;
    int ready[2];
    int stop[2];
    if (pipe(ready) != 0 || pipe(stop) != 0) {
      r.why = "pipe failed";
      return owned;
    }
    const pid_t zoo = fork();
    if (zoo == 0) {
      close(ready[0]);
      close(stop[1]);
      const size_t made = make_sockets(19000);
      (void)!write(ready[1], &made, sizeof made);
      char c;
      (void)!read(stop[0], &c, 1);
      _exit(0);
    }
    close(ready[1]);
    close(stop[0]);
    if (read(ready[0], &r.sockets, sizeof r.sockets) != sizeof r.sockets) {
      r.why = "the socket holder died";
    }
    r.scratch = (fs::temp_directory_path() / ("sonda-report-bench-" + std::to_string(getpid()))).string();
    const std::string& scratch = r.scratch;
    fs::create_directories(scratch);
    const std::string yaml = scratch + "/big.yaml";
    std::ofstream(yaml) << R"(name: report-bench
defaults: { duration: 1s }
steps:
  - { id: srv, use: tcp_transport.server, with: { listen: "127.0.0.1:0", mode: echo } }
  - { id: stream, use: tcp_transport.stream, with: { target: "127.0.0.1:${srv.port}", interval: 100ms } }
  - { id: rr, use: tcp_transport.rr, with: { target: "127.0.0.1:${srv.port}", interval: 100ms } }
  - { id: sockets, use: proc_scanner.scan }
)";
    if (r.why.empty() && spawn_and_wait({SONDA_BINARY, "-q", "run", yaml, "-o", scratch + "/out"}) != 0) {
      r.why = "sonda run failed";
    }
    close(stop[1]);  // the holder closes its sockets and exits
    waitpid(zoo, nullptr, 0);
    std::error_code ec;
    r.dir = fs::canonical(scratch + "/out/report-bench/latest", ec).string();
    if (r.why.empty() && ec) r.why = "no run directory";
    return owned;
  }();
  return *run;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Sockets in the run's scan record (what the report had to summarise).
size_t scanned_sockets(const RunDocument& doc) {
  for (const auto& step : doc.run["steps"]) {
    if (step["id"] == "sockets") return step["record"]["sockets"].size();
  }
  return 0;
}

void BM_ReportCommand19000Sockets(benchmark::State& state) {
  const BigRun& run = big_run();
  if (!run.why.empty()) {
    state.SkipWithError(run.why.c_str());
    return;
  }
  const std::string out = run.dir + "/bench-report.html";
  for (auto _ : state) {
    if (spawn_and_wait({SONDA_BINARY, "-q", "report", run.dir, "-o", out}) != 0) {
      state.SkipWithError("sonda report failed");
      return;
    }
  }
  state.counters["html_bytes"] = static_cast<double>(fs::file_size(out));
  state.counters["sockets"] = static_cast<double>(scanned_sockets(read_run(run.dir)));
}
BENCHMARK(BM_ReportCommand19000Sockets)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ReportInProcess19000Sockets(benchmark::State& state) {
  const BigRun& run = big_run();
  if (!run.why.empty()) {
    state.SkipWithError(run.why.c_str());
    return;
  }
  const std::string chart_js = load_chart_js();
  size_t bytes = 0;
  size_t sockets = 0;
  for (auto _ : state) {
    const RunDocument doc = read_run(run.dir);
    HtmlReportInput input;
    input.run = &doc;
    input.chart_js = chart_js;
    const HtmlReport report = render_html_report(input);
    std::ofstream(run.dir + "/bench-inprocess.html") << report.html;
    bytes = report.html.size();
    state.PauseTiming();
    sockets = scanned_sockets(doc);
    state.ResumeTiming();
  }
  state.counters["html_bytes"] = static_cast<double>(bytes);
  state.counters["sockets"] = static_cast<double>(sockets);
}
BENCHMARK(BM_ReportInProcess19000Sockets)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Peer_ParseRunJson19000Sockets(benchmark::State& state) {
  const BigRun& run = big_run();
  if (!run.why.empty()) {
    state.SkipWithError(run.why.c_str());
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(nlohmann::json::parse(read_all(run.dir + "/run.json")));
  }
  state.counters["run_json_bytes"] = static_cast<double>(fs::file_size(run.dir + "/run.json"));
}
BENCHMARK(BM_Peer_ParseRunJson19000Sockets)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sonda
