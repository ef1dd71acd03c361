#include "cli_harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace sonda::testing {

ScratchDir::ScratchDir() {
  std::string templ = (fs::temp_directory_path() / "sonda-test-XXXXXX").string();
  if (mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = templ;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string ScratchDir::write(const std::string& name, const std::string& text) const {
  const std::string p = path_ + "/" + name;
  std::ofstream(p) << text;
  return p;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

SondaChild start_sonda(const std::vector<std::string>& args, const std::string& scratch,
                       const std::map<std::string, std::string>& env) {
  static int counter = 0;
  SondaChild child;
  const std::string stem = scratch + "/sonda-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  child.out_path = stem + ".out";
  child.err_path = stem + ".err";
  std::vector<std::string> argv_s = {SONDA_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::map<std::string, std::string> full_env = env;
  if (full_env.count("SONDA_PLUGIN_PATH") == 0) {
    full_env["SONDA_PLUGIN_PATH"] = SONDA_TEST_PLUGIN_DIR;
  }
  child.pid = fork();
  if (child.pid == 0) {
    for (const auto& [k, v] : full_env) {
      setenv(k.c_str(), v.c_str(), 1);
    }
    const int out = open(child.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(child.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return child;
}

int wait_sonda(const SondaChild& child) {
  int status = 0;
  while (waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

SondaResult run_sonda(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                      int timeout_s) {
  ScratchDir scratch;
  SondaChild child = start_sonda(args, scratch.path(), env);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(child.pid, &status, WNOHANG);
    if (r == child.pid) {
      break;
    }
    if (std::chrono::steady_clock::now() > until) {
      kill(child.pid, SIGKILL);
      waitpid(child.pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  SondaResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(child.out_path);
  result.err = read_text(child.err_path);
  return result;
}

namespace {

/// A step (or step_end event) that names its record's file gets the file's
/// record back, as a reader following results/README.md would.
void read_record_file(nlohmann::json& step, const std::string& run_dir) {
  if (step.is_object() && step.contains("record_file") && !step.contains("record")) {
    const std::string text = read_text(run_dir + "/" + step["record_file"].get<std::string>());
    step["record"] = text.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(text);
  }
}

}  // namespace

nlohmann::json latest_run(const std::string& out_dir, const std::string& scenario, bool raw) {
  const std::string run_dir = out_dir + "/" + scenario + "/latest";
  const std::string text = read_text(run_dir + "/run.json");
  nlohmann::json run = text.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(text);
  if (!raw && run.is_object() && run.contains("steps")) {
    for (auto& step : run["steps"]) {
      read_record_file(step, run_dir);
    }
  }
  return run;
}

std::vector<nlohmann::json> latest_events(const std::string& out_dir, const std::string& scenario, bool raw) {
  const std::string run_dir = out_dir + "/" + scenario + "/latest";
  std::ifstream in(run_dir + "/events.jsonl");
  std::vector<nlohmann::json> events;
  std::string line;
  while (std::getline(in, line)) {
    events.push_back(nlohmann::json::parse(line));
    if (!raw) {
      read_record_file(events.back(), run_dir);
    }
  }
  return events;
}

bool any_event_line(const std::string& scenario_dir, const std::string& a, const std::string& b) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(scenario_dir, ec)) {
    std::istringstream lines(read_text(entry.path().string() + "/events.jsonl"));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) {
        return true;
      }
    }
  }
  return false;
}

nlohmann::json step_of(const nlohmann::json& run, const std::string& id) {
  if (!run.is_object() || !run.contains("steps")) {
    return nullptr;
  }
  for (const auto& s : run["steps"]) {
    if (s.value("id", "") == id) {
      return s;
    }
  }
  return nullptr;
}

bool process_alive(pid_t pid) {
  if (kill(pid, 0) != 0) {
    return false;
  }
  // A zombie still answers kill(0); /proc says whether it is one.
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

}  // namespace sonda::testing
