#include "action_run.hpp"

#include <unistd.h>

#include <climits>

#include "agent_channel.hpp"
#include "agent_client.hpp"
#include "run_context.hpp"
#include "version.hpp"

namespace sonda {

const char* to_string(Isolation isolation) {
  return isolation == Isolation::kAgent ? "agent" : "in-process";
}

namespace {

/// An action on a thread of this process (ActionTask).
class InProcessRun final : public ActionRun {
 public:
  explicit InProcessRun(ActionRequest r)
      : task_(std::move(r.plugin), std::move(r.action), std::move(r.params), r.deadline_ns,
              std::move(r.on_sample)) {
    task_.start();
  }
  void request_stop() override { task_.request_stop(); }
  bool wait_ready(int64_t until_ns) override { return task_.wait_ready(until_ns); }
  bool wait_done(int64_t until_ns) override { return task_.wait_done(until_ns); }
  void abandon() override { task_.request_stop(); }  // the destructor detaches the thread
  ActionOutcome outcome() const override { return task_.outcome(); }

 private:
  ActionTask task_;
};

}  // namespace

Executor::Executor(Isolation isolation, size_t planned_runs, std::string agent_binary)
    : isolation_(isolation), agent_binary_(std::move(agent_binary)), planned_runs_(planned_runs) {
  replenish();
}

Executor::~Executor() { drain(monotonic_now_ns()); }

void Executor::replenish() const {
  if (isolation_ != Isolation::kAgent) {
    return;
  }
  std::lock_guard lock(mu_);
  if (spare_ != nullptr || started_ahead_ >= planned_runs_) {
    return;
  }
  try {
    ++started_ahead_;
    spare_ = AgentConnection::start_local(agent_binary_);
  } catch (const std::exception&) {
    // start() will try again and report why.
  }
}

std::unique_ptr<ActionRun> Executor::start(ActionRequest request, const std::string& host) const {
  if (!host.empty()) {
    auto it = hosts_.find(host);
    if (it == hosts_.end()) {
      throw std::runtime_error("host '" + host + "' is not connected");
    }
    if (it->second->lost_already()) {
      throw std::runtime_error(it->second->ended_how());
    }
    return start_shared_agent_run(it->second, std::to_string(++next_run_id_), std::move(request));
  }
  if (request.plugin == nullptr) {
    throw std::logic_error("a built-in agent run (" + request.action + ") needs a host");
  }
  if (isolation_ == Isolation::kInProcess) {
    return std::make_unique<InProcessRun>(std::move(request));
  }
  std::shared_ptr<AgentConnection> agent;
  {
    std::lock_guard lock(mu_);
    agent = std::move(spare_);
  }
  if (agent == nullptr || agent->lost_already()) {
    agent = AgentConnection::start_local(agent_binary_);
  }
  auto run = start_agent_run(std::move(agent), std::move(request));
  // The next step's agent starts now, beside this run: ~5 ms of one core
  // once, so that a step that follows a run of more than that finds its
  // agent ready (an exec of sonda is ~6 ms here, a fork of the runner more).
  // Only while the scenario has runs left for it: after the last one an
  // agent started ahead would take a core from the run and be closed unused.
  replenish();
  return run;
}

void Executor::drain(int64_t until_ns) const {
  if (isolation_ != Isolation::kAgent && hosts_.empty()) {
    return;
  }
  std::shared_ptr<AgentConnection> spare;
  {
    std::lock_guard lock(mu_);
    spare = std::move(spare_);
  }
  if (spare != nullptr) {
    spare->close_async();
  }
  for (auto& [name, agent] : hosts_) {
    agent->close_async();
  }
  AgentConnection::wait_all(until_ns);
}

namespace {

/// Round trips of the agent channel, NTP-style: offset = t1 - (t0 + t2) / 2
/// of the sample with the shortest round trip, uncertainty half of it.
nlohmann::json estimate_clock(AgentConnection& agent, int64_t until_ns) {
  constexpr int kSamples = 8;
  int64_t best_rtt = -1;
  int64_t best_offset = 0;
  int taken = 0;
  auto realtime_ns = [] {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  };
  for (int i = 0; i < kSamples; ++i) {
    const int64_t t0 = realtime_ns();
    const nlohmann::json reply = agent.request({{"type", "clock"}}, until_ns);
    const int64_t t2 = realtime_ns();
    if (reply.is_null() || !reply.contains("realtime_ns")) {
      break;
    }
    ++taken;
    const int64_t rtt = t2 - t0;
    if (best_rtt < 0 || rtt < best_rtt) {
      best_rtt = rtt;
      best_offset = reply["realtime_ns"].get<int64_t>() - t0 - rtt / 2;
    }
  }
  if (taken == 0) {
    return nullptr;
  }
  return {{"clock", "CLOCK_REALTIME"},
          {"offset_ns", best_offset},
          {"uncertainty_ns", best_rtt / 2},
          {"min_rtt_ns", best_rtt},
          {"samples", taken}};
}

/// The pid of a running local Docker container, from `docker inspect`.
std::string container_pid(const std::string& host, const std::string& container) {
  const std::string cmd = "docker inspect -f '{{.State.Running}} {{.State.Pid}}' -- '" + container + "' 2>&1";
  std::string out;
  if (container.find('\'') == std::string::npos) {
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[512];
      size_t n;
      while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        out.append(buf, n);
      }
      pclose(p);
    }
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  if (out.rfind("true ", 0) != 0) {
    throw std::runtime_error("host " + host + " is unreachable: container '" + container +
                             "' is not running" + (out.empty() ? "" : ": " + out));
  }
  return out.substr(5);
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    out += (out.empty() ? "" : " ") + a;
  }
  return out;
}

}  // namespace

nlohmann::json Executor::connect_hosts(const std::map<std::string, Host>& hosts, const std::string& run_dir,
                                       int64_t until_ns) {
  const int64_t start_ns = monotonic_now_ns();
  std::map<std::string, std::vector<std::string>> argvs;
  // Every host's agent starts at once; then each is greeted in turn.
  for (const auto& [name, host] : hosts) {
    std::vector<std::string> argv = host.via;
    if (!host.container.empty()) {
      argv = {"nsenter", "-t", container_pid(name, host.container), "-n"};
    }
    argv.push_back(host.sonda.empty() ? agent_binary_ : host.sonda);
    argv.emplace_back("agent");
    argvs[name] = argv;
    try {
      hosts_[name] = AgentConnection::start(argv, run_dir + "/host-" + name + ".output", "host " + name);
    } catch (const std::exception& e) {
      throw std::runtime_error("host " + name + ": `" + joined(argv) + "` could not be started: " + e.what());
    }
  }
  nlohmann::json out = nlohmann::json::object();
  const nlohmann::json ours = collect_run_context()["kernel"];
  for (const auto& [name, agent] : hosts_) {
    nlohmann::json hello = agent->wait_hello(until_ns);
    if (hello.is_null()) {
      const std::string how = agent->ended_detail();
      throw std::runtime_error("host " + name + " is unreachable: " +
                               (how.empty() ? "no hello from `" + joined(argvs[name]) + "` in time" : how));
    }
    if (hello.value("protocol", -1) != kAgentProtocolVersion) {
      throw std::runtime_error("host " + name + ": its agent speaks protocol " + hello.value("protocol", nlohmann::json()).dump() +
                               " (sonda " + hello.value("sonda", std::string("?")) + "), this runner speaks protocol " +
                               std::to_string(kAgentProtocolVersion) + " (sonda " + kSondaVersion + ")");
    }
    nlohmann::json clock = estimate_clock(*agent, until_ns);
    nlohmann::json context = agent->request({{"type", "context"}}, until_ns);
    nlohmann::json plugins = agent->request({{"type", "describe"}}, until_ns);
    if (context.is_null() || plugins.is_null()) {
      const std::string how = agent->ended_detail();
      throw std::runtime_error("host " + name + " stopped answering during preflight" + (how.empty() ? "" : ": " + how));
    }
    nlohmann::json versions = nlohmann::json::array();
    for (const auto& p : plugins.value("plugins", nlohmann::json::array())) {
      versions.push_back({{"name", p.value("name", "")}, {"version", p.value("version", "")}, {"path", p.value("path", "")}});
    }
    hello.erase("type");
    // Same kernel, same clock: one-way delays between such hosts need no
    // correction; others differ by clock.offset_ns (± uncertainty_ns).
    const nlohmann::json theirs = context.value("context", nlohmann::json::object()).value("kernel", nlohmann::json());
    if (clock.is_object()) {
      const nlohmann::json our_boot = ours.is_object() ? ours.value("boot_id", nlohmann::json()) : nlohmann::json();
      clock["same_kernel_as_runner"] =
          theirs.is_object() && !our_boot.is_null() && theirs.value("boot_id", nlohmann::json()) == our_boot;
    }
    out[name] = {{"via", argvs[name]},
                 {"agent", hello},
                 {"context", context.value("context", nlohmann::json())},
                 {"plugins", std::move(versions)},
                 {"clock", std::move(clock)}};
  }
  for (auto& [name, j] : out.items()) {
    j["preflight_ns"] = monotonic_now_ns() - start_ns;
  }
  return out;
}

std::string Executor::self_executable() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("sonda");
}

}  // namespace sonda
