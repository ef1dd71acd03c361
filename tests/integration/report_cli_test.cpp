// `sonda report` through the real binary, and its page in a real browser:
// Debian's headless chromium loads the file offline, the page's own script
// records on <body> how many charts it drew and painted and every script or
// console error, and --dump-dom hands that back. A screenshot is kept under
// <build>/test-output/report/ for people to look at.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "cli_harness.hpp"

namespace fs = std::filesystem;

namespace sonda::testing {
namespace {

struct ProgramResult {
  int exit_code = -1;  ///< 127: could not be started; 128+N: killed by signal N
  std::string out;
  std::string err;
};

/// Runs `argv` (PATH lookup) in its own process group, output to files under
/// `scratch`; the whole group is killed after `timeout_s` (chromium starts
/// several processes).
ProgramResult run_program(const std::vector<std::string>& argv, const std::string& scratch, int timeout_s) {
  static int counter = 0;
  const std::string stem = scratch + "/prog-" + std::to_string(++counter);
  std::vector<char*> args;
  std::vector<std::string> copy = argv;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const int out = open((stem + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open((stem + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    execvp(args[0], args.data());
    dprintf(2, "cannot start %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  bool timed_out = false;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > until) {
      timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid, SIGKILL);  // helpers left behind by the browser, if any
  ProgramResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(stem + ".out");
  r.err = read_text(stem + ".err");
  if (timed_out) r.err += "\n(killed after " + std::to_string(timeout_s) + " s)";
  return r;
}

/// What the page said about itself once its scripts ran.
struct PageState {
  std::string body_tag;  ///< "" when the DOM has no report <body>
  std::map<std::string, std::string> attrs;
  std::string errors;  ///< text of #sonda-report-errors
  std::string attr(const std::string& name) const {
    auto it = attrs.find(name);
    return it == attrs.end() ? "(absent)" : it->second;
  }
};

PageState page_state(const std::string& dom) {
  PageState state;
  const size_t at = dom.find("<body data-charts-expected=");
  if (at == std::string::npos) return state;
  state.body_tag = dom.substr(at, dom.find('>', at) - at + 1);
  static const std::regex attr(R"re(([a-z-]+)="([^"]*)")re");
  for (std::sregex_iterator it(state.body_tag.begin(), state.body_tag.end(), attr), end; it != end; ++it) {
    state.attrs[(*it)[1]] = (*it)[2];
  }
  std::smatch m;
  static const std::regex errors(R"re(<pre id="sonda-report-errors"[^>]*>([^<]*)</pre>)re");
  if (std::regex_search(dom, m, errors)) state.errors = m[1];
  return state;
}

/// <build>/test-output/report/<name>: kept after the test, out of git.
std::string output_path(const std::string& name) {
  const fs::path dir = fs::path(SONDA_BUILD_DIR) / "test-output" / "report";
  fs::create_directories(dir);
  return (dir / name).string();
}

/// Opens `html` in headless chromium; returns the page state. Fails the test
/// (never skips) when chromium cannot be started or says nothing.
PageState render_in_chromium(const std::string& html, const std::string& screenshot, const ScratchDir& scratch) {
  const ProgramResult r = run_program(
      {"chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
       "--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + scratch.path() + "/chromium-profile",
       "--virtual-time-budget=10000", "--window-size=1400,2000", "--screenshot=" + screenshot, "--dump-dom",
       "file://" + html},
      scratch.path(), 120);
  EXPECT_EQ(r.exit_code, 0) << "headless chromium did not run (Debian package 'chromium'; tools/setup.sh "
                               "installs it): exit "
                            << r.exit_code << "\n"
                            << r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0);
  PageState state = page_state(r.out);
  EXPECT_FALSE(state.body_tag.empty()) << "chromium's DOM has no report <body>; stderr:\n" << r.err.substr(0, 3000);
  std::cout << "[ screenshot ] " << screenshot << std::endl;
  return state;
}

/// Every chart the page promised was created and painted, and nothing
/// reported an error.
void expect_clean_page(const PageState& page, size_t min_charts) {
  ASSERT_FALSE(page.body_tag.empty());
  EXPECT_EQ(page.attr("data-report-state"), "done") << page.body_tag;
  const std::string expected = page.attr("data-charts-expected");
  EXPECT_GE(std::stoul(expected), min_charts) << page.body_tag;
  EXPECT_EQ(page.attr("data-charts-created"), expected) << page.body_tag << "\n" << page.errors;
  EXPECT_EQ(page.attr("data-charts-painted"), expected) << "blank: " << page.attr("data-charts-blank");
  EXPECT_EQ(page.attr("data-error-count"), "0") << page.errors;
  EXPECT_EQ(page.errors, "");
}

/// The chart specs the page carries (its #sonda-charts JSON).
nlohmann::json chart_specs(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"sonda-charts\">";
  const size_t a = html.find(open);
  if (a == std::string::npos) return nullptr;
  const size_t b = html.find("</script>", a);
  return nlohmann::json::parse(html.substr(a + open.size(), b - a - open.size()));
}

/// A small real lab on loopback: TCP and UDP servers with clients, then
/// what the interfaces and sockets look like.
std::string lab_scenario(const std::string& name) {
  return "name: " + name + R"(
defaults: { duration: 400ms }
steps:
  - { id: tcp_srv, use: tcp_transport.server, with: { listen: "127.0.0.1:0", mode: echo } }
  - { id: udp_srv, use: udp_transport.server, with: { listen: "127.0.0.1:0", mode: sink, interval: 100ms } }
  - { id: tcp_stream, use: tcp_transport.stream, with: { target: "127.0.0.1:${tcp_srv.port}", interval: 100ms } }
  - { id: tcp_rr, use: tcp_transport.rr, with: { target: "127.0.0.1:${tcp_srv.port}", size: 64B, interval: 100ms } }
  - { id: udp_stream, use: udp_transport.stream,
      with: { target: "127.0.0.1:${udp_srv.port}", size: 1400B, rate: 200Mbit, interval: 100ms } }
  - { id: ifaces, use: iface_scanner.scan }
  - { id: sockets, use: proc_scanner.scan }
expect:
  - tcp_rr.transactions > 0
)";
}

/// Runs the lab into `out`; returns its run directory.
std::string run_lab(const ScratchDir& dir, const std::string& out, const std::string& name) {
  const auto file = dir.write(name + ".yaml", lab_scenario(name));
  const auto r = run_sonda({"run", file, "-o", out}, {}, 120);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return fs::canonical(out + "/" + name + "/latest").string();
}

TEST(ReportCli, DrawsEveryChartOfARealRunInHeadlessChromium) {
  ScratchDir dir;
  const std::string out = dir.path() + "/out";
  const std::string run_dir = run_lab(dir, out, "report-lab");
  // results/<scenario>/latest is accepted; the page goes into the run directory.
  const auto r = run_sonda({"report", out + "/report-lab/latest"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, run_dir + "/report.html\n");
  const std::string html = read_text(run_dir + "/report.html");
  ASSERT_FALSE(html.empty());

  // Self-contained: Chart.js inlined with its licence header, nothing fetched.
  EXPECT_NE(html.find("Chart.js v3"), std::string::npos);
  EXPECT_NE(html.find("Released under the MIT License"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  // The tables: steps with their summaries, figures, discovery.
  for (const char* text : {"tcp_transport.stream", "udp_transport.stream", "Headline figures", "latency.p99_ns",
                           "receiver.loss_ratio", "Listening services", "Sockets by protocol and state",
                           "<td>lo (loopback)</td>", "tcp_rr.transactions &gt; 0"}) {
    EXPECT_NE(html.find(text), std::string::npos) << text;
  }
  // A chart per kind of sample field, latency percentiles for rr and UDP one-way delay.
  const auto specs = chart_specs(html);
  ASSERT_TRUE(specs.is_array());
  std::set<std::string> titles;
  for (const auto& s : specs) titles.insert(s["title"].get<std::string>());
  for (const char* t : {"tcp_stream: throughput", "tcp_rr: rate", "tcp_rr: latency percentiles",
                        "udp_stream: latency percentiles", "udp_srv: packet rate"}) {
    EXPECT_EQ(titles.count(t), 1u) << t << " in " << specs.dump().substr(0, 2000);
  }

  const std::string shot = output_path("ReportCli-lab.png");
  fs::copy_file(run_dir + "/report.html", output_path("ReportCli-lab.html"), fs::copy_options::overwrite_existing);
  const PageState page = render_in_chromium(run_dir + "/report.html", shot, dir);
  expect_clean_page(page, 5);
  EXPECT_EQ(page.attr("data-charts-expected"), std::to_string(specs.size()));
  EXPECT_GT(fs::file_size(shot), 10'000u) << shot;
}

TEST(ReportCli, OverlaysTheBaseRunAndComparesItsFigures) {
  ScratchDir dir;
  const std::string out = dir.path() + "/out";
  const std::string base_dir = run_lab(dir, out, "report-ab");
  const std::string run_dir = run_lab(dir, out, "report-ab");
  ASSERT_NE(base_dir, run_dir);
  const std::string page_file = dir.path() + "/ab.html";
  const auto r = run_sonda({"report", run_dir + "/run.json", "--base", base_dir, "-o", page_file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, page_file + "\n");
  const std::string html = read_text(page_file);
  EXPECT_NE(html.find("compared with the base run " + base_dir), std::string::npos);
  EXPECT_NE(html.find("<th>base run</th><th>change</th>"), std::string::npos);
  // The compare table: the same verdicts as `sonda compare`.
  EXPECT_NE(html.find("<h3 id=\"compare\">sonda compare: "), std::string::npos);
  EXPECT_NE(html.find("<th>p</th><th>verdict</th>"), std::string::npos);
  // Every chart of a measured step carries both runs, the base dashed.
  const auto specs = chart_specs(html);
  ASSERT_TRUE(specs.is_array());
  size_t overlaid = 0;
  for (const auto& s : specs) {
    bool own = false;
    bool base = false;
    for (const auto& d : s["datasets"]) (d["base"].get<bool>() ? base : own) = true;
    EXPECT_TRUE(own && base) << s["title"];
    overlaid += own && base ? 1 : 0;
  }
  EXPECT_GE(overlaid, 5u);
  const PageState page = render_in_chromium(page_file, output_path("ReportCli-base.png"), dir);
  expect_clean_page(page, 5);
}

TEST(ReportCli, ShowsTheFiguresRunJsonCarriesWithTheirChange) {
  // A step whose run.json entry lists its figures (path, unit, better,
  // value): those are shown, whatever plugin it came from.
  ScratchDir dir;
  auto run_json = [](double rate, double delay) {
    return nlohmann::json{
        {"schema_version", 1},
        {"scenario", {{"name", "figs"}}},
        {"status", "ok"},
        {"steps",
         {{{"id", "load"}, {"kind", "action"}, {"plugin", "elsewhere"}, {"action", "go"}, {"status", "ok"},
           {"record", {{"summary", "went"}}},
           {"figures",
            {{{"path", "rate"}, {"unit", "bit/s"}, {"better", "higher"}, {"value", rate}},
             {{"path", "delay_ns"}, {"unit", "ns"}, {"better", "lower"}, {"value", delay}}}}}}}}
        .dump();
  };
  fs::create_directories(dir.path() + "/a");
  fs::create_directories(dir.path() + "/b");
  dir.write("a/run.json", run_json(1e9, 1000));
  dir.write("b/run.json", run_json(2e9, 1500));
  const auto r = run_sonda({"report", dir.path() + "/b", "--base", dir.path() + "/a"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = read_text(dir.path() + "/b/report.html");
  EXPECT_NE(html.find("<td class=\"num\">2 Gbit/s</td><td class=\"num\">1 Gbit/s</td><td class=\"num better\">+100.0 %</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">1.5 us</td><td class=\"num\">1 us</td><td class=\"num worse\">+50.0 %</td>"),
            std::string::npos);
}

TEST(ReportCli, ListsServicesIdentifiedFirstAndKernelThreadFamilies) {
  // A proc_scanner.scan record as the plugin writes it, kernel-thread table included.
  ScratchDir dir;
  const nlohmann::json record = {
      {"sockets",
       {{{"protocol", "tcp"}, {"family", "ipv4"}, {"state", "LISTEN"},
         {"local", {{"address", "0.0.0.0"}, {"port", 8000}}}, {"remote", {{"address", "0.0.0.0"}, {"port", 0}}},
         {"recv_q", 0}, {"send_q", 5}, {"netns", 1},
         {"owners", {{{"pid", 42}, {"process", "python3"}, {"user", "www"},
                      {"container", {{"runtime", "docker"}, {"id", "3f2a9c1b7e04aaaabbbb"}}}}}}},
        {{"protocol", "udp"}, {"family", "ipv6"}, {"state", "UNCONN"},
         {"local", {{"address", "::1"}, {"port", 5353}}}, {"remote", {{"address", "::"}, {"port", 0}}},
         {"recv_q", 0}, {"send_q", 0}, {"netns", 1}, {"owners", nlohmann::json::array()}}}},
      {"services",
       {{{"port", 5353}, {"protocol", "udp"}, {"addresses", {"[::1]:5353"}}, {"pids", nlohmann::json::array()},
         {"process", nullptr}, {"application", nullptr}, {"confidence", "none"}, {"evidence", nlohmann::json::array()}},
        {{"port", 8000}, {"protocol", "tcp"}, {"addresses", {"0.0.0.0:8000"}}, {"pids", {42}},
         {"process", "python3"}, {"application", "HTTP server (python3)"}, {"confidence", "high"},
         {"evidence", {"process 'python3' matches catalog entry 'python-http-server'"}}}}},
      {"counts", {{"sockets", 2}, {"tcp", 1}, {"udp", 1}, {"kernel_threads", 3}}},
      {"kernel_threads",
       {{"count", 3},
        {"groups",
         {{{"name", "kworker"}, {"count", 2}, {"what", "workqueue workers"}, {"sockets", "none: no fds"}},
          {{"name", "kworker/R-*"}, {"count", 1}, {"what", nullptr}, {"sockets", "none: no fds"},
           {"queues", {{{"queue", "netns"}, {"what", "network namespace cleanup"}}}}}}},
        {"init", {{"pid", 1}, {"process", "systemd"}, {"what", "the init process"}}}}},
      {"summary", "2 sockets"}};
  dir.write("run.json", nlohmann::json{{"status", "ok"},
                                       {"steps",
                                        {{{"id", "scan"}, {"kind", "action"}, {"plugin", "proc_scanner"},
                                          {"action", "scan"}, {"status", "ok"}, {"record", record}}}}}
                            .dump());
  const auto r = run_sonda({"report", dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = read_text(dir.path() + "/report.html");
  // The identified HTTP server comes before the unknown 5353/udp; its user and container from the socket's owner.
  const size_t http = html.find("<td class=\"num\">8000/tcp</td>");
  const size_t mdns = html.find("<td class=\"num\">5353/udp</td>");
  ASSERT_NE(http, std::string::npos);
  ASSERT_NE(mdns, std::string::npos);
  EXPECT_LT(http, mdns);
  EXPECT_NE(html.find("<td class=\"nowrap\">python3 (pid 42)</td><td>www</td><td>docker 3f2a9c1b7e04</td>"),
            std::string::npos);
  EXPECT_NE(html.find("Kernel threads: 3 in 2 families"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"code\">kworker/R-*</td><td class=\"num\">1</td><td class=\"reason\">(not in "
                      "the catalog)<br>netns: network namespace cleanup</td>"),
            std::string::npos);
  EXPECT_NE(html.find("pid 1: systemd &mdash; the init process"), std::string::npos);
  // The socket table: both rows, by protocol and state.
  EXPECT_NE(html.find("<td class=\"code\">[::1]:5353</td>"), std::string::npos);
  EXPECT_NE(html.find("Sockets: the first 2 of 2"), std::string::npos);
}

TEST(ReportCli, RejectsWhatIsNotARunWithAClearError) {
  ScratchDir dir;
  const auto missing = run_sonda({"report", dir.path() + "/nope"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find(dir.path() + "/nope: no such file or directory"), std::string::npos) << missing.err;

  fs::create_directories(dir.path() + "/empty");
  const auto empty = run_sonda({"report", dir.path() + "/empty"});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("/empty: not a run directory: no run.json or events.jsonl in it"), std::string::npos)
      << empty.err;

  const auto garbled = dir.write("run.json", "{\"steps\": [");
  const auto bad = run_sonda({"report", garbled});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("run.json: not valid JSON"), std::string::npos) << bad.err;

  for (const char* s : {"a", "b"}) {
    fs::create_directories(dir.path() + "/results/" + s + "/20260101T000000Z");
    fs::create_directory_symlink("20260101T000000Z", dir.path() + "/results/" + s + "/latest");
  }
  const auto several = run_sonda({"report", dir.path() + "/results"});
  EXPECT_EQ(several.exit_code, 2);
  EXPECT_NE(several.err.find("holds the runs of several scenarios (a, b)"), std::string::npos) << several.err;

  EXPECT_FALSE(fs::exists(dir.path() + "/nope/report.html"));
}

TEST(ReportCli, NamesTheDebianPackageWhenChartJsIsMissing) {
  ScratchDir dir;
  dir.write("run.json", R"({"steps": [], "status": "ok"})");
  const auto r = run_sonda({"report", dir.path()}, {{"SONDA_CHART_JS", dir.path() + "/no-chart.js"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Chart.js not found (searched " + dir.path() + "/no-chart.js)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("libjs-chart.js"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() + "/report.html"));
}

TEST(ReportCli, ReadsARunThatNeverWroteRunJsonFromItsEvents) {
  ScratchDir dir;
  const std::string out = dir.path() + "/out";
  const auto file = dir.write("s.yaml", R"(name: died
steps:
  - { id: ticks, use: testkit.emit_samples, with: { count: 3, interval: 10ms } }
  - { id: nap, use: testkit.sleep, with: { duration: 10ms } }
)");
  ASSERT_EQ(run_sonda({"run", file, "-o", out}).exit_code, 0);
  // As a killed run leaves it: no run.json, events.jsonl cut while `ticks`
  // ran (its samples are there, its step_end is not).
  const std::string run_dir = fs::canonical(out + "/died/latest").string();
  fs::remove(run_dir + "/run.json");
  std::istringstream lines(read_text(run_dir + "/events.jsonl"));
  std::string kept;
  for (std::string line; std::getline(lines, line);) {
    const std::string event = nlohmann::json::parse(line).value("event", "");
    if (event == "run_start" || event == "sample" || (event == "step_start" && line.find("\"ticks\"") != std::string::npos)) {
      kept += line + "\n";
    }
  }
  std::ofstream(run_dir + "/events.jsonl") << kept << "{\"event\": \"step_e";  // the line being written
  const auto r = run_sonda({"report", out + "/died"});  // the scenario directory, through its latest link
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = read_text(run_dir + "/report.html");
  EXPECT_NE(html.find("run.json is missing: read from events.jsonl"), std::string::npos);
  EXPECT_NE(html.find("no step_end in events.jsonl: the run ended while this step ran"), std::string::npos);
  const auto specs = chart_specs(html);
  ASSERT_EQ(specs.size(), 1u) << specs.dump();
  EXPECT_EQ(specs[0]["title"], "ticks: count");
  EXPECT_EQ(specs[0]["datasets"][0]["points"].size(), 3u);
}

}  // namespace
}  // namespace sonda::testing
