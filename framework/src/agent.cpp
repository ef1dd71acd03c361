// `sonda agent`: loads plugins and runs actions on request, speaking the
// agent protocol (docs/AGENT_PROTOCOL.md) over stdin/stdout. The runner
// starts one per step locally (a crash stays in it); ssh, `docker exec -i`,
// `kubectl exec -i` or `ip netns exec` can carry the same stdio elsewhere.
//
// The channel is moved off fds 0/1 before any plugin is loaded: fd 0 becomes
// /dev/null and fd 1 a copy of fd 2, so whatever a plugin prints (or closes)
// never reaches the protocol. The agent exits when its input ends.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "agent_channel.hpp"
#include "agent_spawn.hpp"
#include "commands.hpp"
#include "describe.hpp"
#include "json_scan.hpp"
#include "registry.hpp"
#include "results.hpp"
#include "run_context.hpp"
#include "step_task.hpp"
#include "version.hpp"

namespace sonda {

namespace {

/// How long runs may take to honour their stop flag once the input ended.
constexpr int64_t kWindDownNs = 1'000'000'000;

/// Moves the channel to fresh close-on-exec descriptors and points fds 0/1
/// away from it. Returns {in, out}, or {-1, -1} with errno set.
std::pair<int, int> take_channel() {
  const int in = fcntl(0, F_DUPFD_CLOEXEC, 3);
  const int out = fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (in < 0 || out < 0) {
    return {-1, -1};
  }
  const int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null >= 0) {
    dup2(dev_null, 0);
    ::close(dev_null);
  }
  dup2(2, 1);
  return {in, out};
}

class Agent {
 public:
  Agent(const AgentCommand& cmd, int out_fd) : cmd_(cmd), out_(out_fd) {}

  /// Loads one explicit plugin file; a refusal is reported when a run asks
  /// for it.
  void preload(const std::string& path) { registry_.load_file(path); }
  /// Serves until the input ends or says bye. The process exit code.
  int serve(int in_fd);

 private:
  /// An action of a plugin, or a program started for a spawn step (the
  /// built-in run: no plugin, action "spawn").
  struct Run {
    std::unique_ptr<ActionTask> task;
    std::unique_ptr<AgentSpawn> spawn;
    std::string plugin;
    void request_stop() { task ? task->request_stop() : spawn->request_stop(); }
    bool wait_done(int64_t until_ns) { return task ? task->wait_done(until_ns) : spawn->wait_done(until_ns); }
  };

  bool hello(const Frame& f);
  void describe(const std::string& id);
  void start_run(const Frame& f);
  /// The plugin named `name`: loaded already (--plugin), else from `path`
  /// when given, else (once) from the search path. nullptr with `why` set
  /// when unavailable.
  std::shared_ptr<const LoadedPlugin> plugin(const std::string& name, const std::string& path, std::string& why);
  /// Points fds 1 and 2 (what plugins print) at `path`, appending.
  bool redirect_output(const std::string& path, std::string& why);
  void reap_finished();
  void wind_down();

  const AgentCommand& cmd_;
  FrameWriter out_;
  Registry registry_;
  bool searched_ = false;
  bool fd_records_ = false;  ///< the runner's hello asked for memfd records
  std::map<std::string, Run> runs_;
};

/// Records at least this large go to a local runner as a memfd: copied once
/// into it here and mapped there, instead of crossing the socket in
/// socket-buffer-sized pieces and being copied again into the runner's heap.
constexpr size_t kMemfdRecordBytes = 256 * 1024;
/// Records at least this large go into the run's records/ directory, when
/// the runner names the file (results.hpp: RunWriter::kRecordFileBytes).
constexpr size_t kRecordFileBytes = RunWriter::kRecordFileBytes;

/// write(2) all of `text`; false (errno set) when a call fails.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

/// A sealed memfd holding `text` and a NUL (the runner's validator reads up
/// to a NUL; the file is sized first, so its last byte is already zero).
/// -1 when any call fails: the record then goes as bytes.
int record_memfd(std::string_view text) {
  const int fd = memfd_create("sonda-record", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    return -1;
  }
  const bool ok = ::ftruncate(fd, static_cast<off_t>(text.size() + 1)) == 0 && write_all(fd, text);
  if (!ok || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Writes a large record to `path` (the runner's records/<step>.json) and,
/// on another thread at the same time, checks it and takes its skeleton: the
/// record is written once, where it stays, and the runner neither copies
/// nor re-reads it. False, with nothing left at `path`, when any call fails
/// or the text is not one JSON object: the record is then handed over as
/// before and the runner says what is wrong with it. `text` is followed by a
/// NUL (the plugin's C string).
bool write_record_file(FrameWriter& out, const std::string& id, const std::string& path, std::string_view text) {
  nlohmann::json skeleton;
  JsonRoot root = JsonRoot::kInvalid;
  std::thread checker([&] { root = check_json(text.data(), text.size(), &skeleton); });
  bool written = true;
  try {
    write_record_text(path, text);
  } catch (const std::runtime_error&) {
    written = false;
  }
  checker.join();
  if (!written || root != JsonRoot::kObject) {
    ::unlink(path.c_str());
    return false;
  }
  return out.write({{"type", "record"}, {"id", id}, {"file", path}, {"size", text.size()}, {"skeleton", std::move(skeleton)}});
}

/// A record the plugin appends piece by piece (sonda_host.append_result):
/// held here until it reaches kStartFileBytes; from then on, when the
/// runner named a record file, each piece goes into that file as it comes
/// and a second thread reads it back and checks it (JsonStreamCheck), so the
/// check ends a few KiB after the last piece instead of starting there, and
/// no whole copy of the record is ever in memory. A record that ends below
/// kRecordFileBytes, turns out invalid, or whose file cannot be written, is
/// read back and handed over as text (the runner then checks it, says what
/// is wrong with it, or embeds it). Plugin thread only, except the checker.
class StreamedRecord {
 public:
  /// The checker reads and checks this much at a time.
  static constexpr size_t kWakeBytes = size_t{256} << 10;
  /// The file and its checker start here, not at kRecordFileBytes: a
  /// checker that starts 1 MiB behind a renderer as fast as itself stays
  /// 1 MiB behind, which was ~2 ms after the last piece of a 5 MB scan.
  static constexpr size_t kStartFileBytes = kWakeBytes;

  explicit StreamedRecord(std::string path) : path_(std::move(path)) {}
  StreamedRecord(const StreamedRecord&) = delete;
  StreamedRecord& operator=(const StreamedRecord&) = delete;
  ~StreamedRecord() { drop(); }

  void append(std::string_view piece) {
    if (fd_ < 0) {
      held_.append(piece);
      if (!path_.empty() && !gave_up_ && held_.size() >= kStartFileBytes) {
        to_file();
      }
      return;
    }
    if (!write_all(fd_, piece)) {
      back_to_memory();
      held_.append(piece);
      return;
    }
    // The checker is woken every kWakeBytes, not for each piece: on a
    // VM a cross-CPU wake-up costs more than scanning a few pieces.
    std::lock_guard lock(mu_);
    written_ += piece.size();
    if (written_ - woken_at_ >= kWakeBytes) {
      woken_at_ = written_;
      cv_.notify_one();
    }
  }

  /// After run() returned: the record frame. `as_text` hands a text over
  /// the way a set_result() text goes.
  void finish(FrameWriter& out, const std::string& id, const std::function<void(std::string_view)>& as_text) {
    if (fd_ >= 0) {
      stop_checker();
      if (root_ == JsonRoot::kObject && written_ >= kRecordFileBytes && write_all(fd_, "\n")) {
        ::close(std::exchange(fd_, -1));  // written already: a close error would say nothing new
        out.write({{"type", "record"}, {"id", id}, {"file", path_}, {"size", written_}, {"skeleton", std::move(skeleton_)}});
        return;
      }
      back_to_memory();
    }
    as_text(held_);
  }

  /// Replaced by a set_result(): nothing of it stays.
  void drop() {
    if (fd_ >= 0) {
      stop_checker();
      ::close(std::exchange(fd_, -1));
      ::unlink(path_.c_str());
    }
    held_.clear();
  }

 private:
  void to_file() {
    const std::string dir = path_.substr(0, path_.rfind('/'));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      gave_up_ = true;
      return;
    }
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      gave_up_ = true;
      return;
    }
    if (!write_all(fd_, held_)) {
      ::close(std::exchange(fd_, -1));
      ::unlink(path_.c_str());
      gave_up_ = true;
      return;
    }
    written_ = held_.size();
    std::string().swap(held_);
    checker_ = std::thread([this] { check(); });
  }

  /// The checker's loop: reads back what was written and checks it.
  void check() {
    JsonStreamCheck check(&skeleton_);
    std::string buffer(kWakeBytes, '\0');
    size_t read = 0;
    bool ok = true;
    for (;;) {
      size_t until = 0;
      bool last = false;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return written_ >= read + kWakeBytes || stop_; });
        until = written_;
        last = stop_;
      }
      while (ok && read < until) {
        const ssize_t n = ::pread(fd_, buffer.data(), std::min(buffer.size(), until - read), static_cast<off_t>(read));
        if (n < 0 && errno == EINTR) {
          continue;
        }
        ok = n > 0 && check.feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
        read += n > 0 ? static_cast<size_t>(n) : 0;
      }
      if (last || !ok) {
        // Invalid already: wait only to be told to stop.
        if (!last) {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [&] { return stop_; });
        }
        break;
      }
    }
    root_ = ok && read == written_ ? check.finish() : JsonRoot::kInvalid;
  }

  void stop_checker() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_one();
    }
    if (checker_.joinable()) {
      checker_.join();
    }
  }

  /// The file could not be written or its text is not one JSON object: the
  /// text comes back into memory and the file goes.
  void back_to_memory() {
    stop_checker();
    std::string text(written_, '\0');
    size_t got = 0;
    while (got < text.size()) {
      const ssize_t n = ::pread(fd_, text.data() + got, text.size() - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      got += static_cast<size_t>(n);
    }
    text.resize(got);
    ::close(std::exchange(fd_, -1));
    ::unlink(path_.c_str());
    held_ = std::move(text);
    gave_up_ = true;
  }

  const std::string path_;
  std::string held_;
  bool gave_up_ = false;  ///< no file for this record: it stays in memory
  int fd_ = -1;
  std::thread checker_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t written_ = 0;  ///< under mu_ once the checker runs
  size_t woken_at_ = 0;  ///< written_ when the checker was last woken
  bool stop_ = false;
  nlohmann::json skeleton_;
  JsonRoot root_ = JsonRoot::kInvalid;
};

bool Agent::hello(const Frame& f) {
  const int theirs = f.header.value("protocol", -1);
  if (theirs == kAgentProtocolVersion) {
    // A runner that made this channel itself takes large records as memfds.
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    fd_records_ = f.header.value("fd_records", false) &&
                  getsockname(out_.fd(), reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
                  addr.ss_family == AF_UNIX;
    return true;
  }
  out_.write({{"type", "error"},
              {"message", "agent protocol mismatch: the runner speaks protocol " + std::to_string(theirs) +
                              " (sonda " + f.header.value("sonda", std::string("?")) +
                              "), this agent speaks protocol " + std::to_string(kAgentProtocolVersion) +
                              " (sonda " + kSondaVersion + ")"}});
  return false;
}

bool Agent::redirect_output(const std::string& path, std::string& why) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    why = "open(" + path + "): " + std::strerror(errno);
    return false;
  }
  dup2(fd, 1);
  dup2(fd, 2);
  ::close(fd);
  return true;
}

std::shared_ptr<const LoadedPlugin> Agent::plugin(const std::string& name, const std::string& path,
                                                  std::string& why) {
  if (auto p = registry_.get(name)) {
    return p;
  }
  if (cmd_.inherited != nullptr) {
    if (auto p = cmd_.inherited->get(name); p != nullptr && (path.empty() || p->path == path)) {
      return p;
    }
  }
  if (!path.empty()) {
    registry_.load_file(path);
    if (auto p = registry_.get(name)) {
      return p;
    }
  }
  if (!searched_) {
    searched_ = true;
    for (const auto& dir : Registry::search_dirs(cmd_.plugins.plugin_dirs)) {
      registry_.load_directory(dir);
    }
    if (auto p = registry_.get(name)) {
      return p;
    }
  }
  if (const RefusedPlugin* r = registry_.refusal_for(name)) {
    why = r->reason;
  } else {
    why = "plugin '" + name + "' is not available to this agent";
  }
  return nullptr;
}

void Agent::describe(const std::string& id) {
  if (!searched_) {
    std::string ignored;
    plugin("", "", ignored);  // loads the search path once
  }
  nlohmann::json plugins = nlohmann::json::array();
  for (const auto& [name, p] : registry_.plugins()) {
    plugins.push_back(plugin_schema_json(*p));
  }
  nlohmann::json refused = nlohmann::json::array();
  for (const auto& r : registry_.refused()) {
    refused.push_back({{"path", r.path}, {"reason", r.reason}});
  }
  out_.write({{"type", "describe"},
              {"id", id},
              {"plugins", std::move(plugins)},
              {"refused", std::move(refused)}});
}

void Agent::start_run(const Frame& f) {
  const std::string id = f.header.value("id", std::string());
  const std::string name = f.header.value("plugin", std::string());
  const std::string action = f.header.value("action", std::string());
  auto fail = [&](const std::string& message) {
    out_.write({{"type", "error"}, {"id", id}, {"rc", 2}, {"message", message}});
  };
  if (id.empty() || runs_.count(id) != 0) {
    fail(id.empty() ? "run without an id" : "run id '" + id + "' is already running");
    return;
  }
  if (name.empty() && action == "spawn") {
    try {
      runs_[id] = Run{nullptr, std::make_unique<AgentSpawn>(&out_, id, f.header.value("params", nlohmann::json::object())), ""};
    } catch (const std::exception& e) {
      fail(e.what());
    }
    return;
  }
  std::string why;
  const std::string output = f.header.value("output", std::string());
  if (!output.empty() && !redirect_output(output, why)) {
    fail(why);
    return;
  }
  auto p = plugin(name, f.header.value("path", std::string()), why);
  if (p == nullptr) {
    fail(why);
    return;
  }
  if (p->find_action(action) == nullptr) {
    fail("plugin " + name + " has no action '" + action + "'");
    return;
  }
  const int64_t timeout_ns = f.header.value("timeout_ns", int64_t{0});
  const int64_t deadline_ns = timeout_ns > 0 ? monotonic_now_ns() + timeout_ns : 0;
  FrameWriter* out = &out_;
  auto task = std::make_unique<ActionTask>(
      p, action, f.header.value("params", nlohmann::json::object()), deadline_ns,
      [out, id](const nlohmann::json& s) { out->write({{"type", "sample"}, {"id", id}, {"sample", s}}); });
  TaskHooks hooks;
  hooks.on_ready = [out, id](const nlohmann::json& info) {
    out->write({{"type", "ready"}, {"id", id}, {"info", info}});
  };
  hooks.on_log = [out, id](int level, const char* msg) {
    out->write({{"type", "log"}, {"id", id}, {"level", level}, {"message", msg}});
  };
  // The plugin's text goes to the channel from its own buffer (no copy), or
  // a large one into a memfd whose descriptor goes instead; one of 1 MiB or
  // more into the run's record file, when the runner named one.
  const std::string record_file = fd_records_ ? f.header.value("record_file", std::string()) : "";
  auto send_text = [out, id, memfd = fd_records_, record_file](std::string_view text) {
    if (!record_file.empty() && text.size() >= kRecordFileBytes && write_record_file(*out, id, record_file, text)) {
      return;
    }
    if (memfd && text.size() >= kMemfdRecordBytes) {
      const int fd = record_memfd(text);
      if (fd >= 0) {
        const bool sent = out->write_with_fd({{"type", "record"}, {"id", id}, {"memfd", text.size()}}, fd);
        ::close(fd);
        if (sent) {
          return;
        }
      }
    }
    out->write({{"type", "record"}, {"id", id}}, text);
  };
  // Pieces (append_result) go to a StreamedRecord; a set_result() replaces
  // them. Both run on the plugin's thread, as does on_done.
  auto streamed = std::make_shared<std::unique_ptr<StreamedRecord>>();
  hooks.on_record_text = [streamed, send_text](std::string_view text) {
    streamed->reset();
    send_text(text);
  };
  hooks.on_record_piece = [streamed, record_file](std::string_view piece) {
    if (!*streamed) {
      *streamed = std::make_unique<StreamedRecord>(record_file);
    }
    (*streamed)->append(piece);
  };
  hooks.on_done = [out, id, streamed, send_text](int rc, const std::string& error) {
    if (*streamed) {
      (*streamed)->finish(*out, id, send_text);
      streamed->reset();
    }
    if (rc == 0) {
      out->write({{"type", "result"}, {"id", id}});
    } else {
      out->write({{"type", "error"}, {"id", id}, {"rc", rc}, {"message", error}});
    }
  };
  task->set_hooks(std::move(hooks));
  task->start();
  runs_[id] = Run{std::move(task), nullptr, name};
}

void Agent::reap_finished() {
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (it->second.wait_done(monotonic_now_ns())) {
      it = runs_.erase(it);
    } else {
      ++it;
    }
  }
}

void Agent::wind_down() {
  for (auto& [id, run] : runs_) {
    run.request_stop();
  }
  const int64_t until = monotonic_now_ns() + kWindDownNs;
  for (auto& [id, run] : runs_) {
    run.wait_done(until);
  }
  // Programs started for spawn steps do not outlive their agent: whatever
  // did not stop in time is killed with its group here.
  for (auto& [id, run] : runs_) {
    run.spawn.reset();
  }
}

int Agent::serve(int in_fd) {
  out_.write({{"type", "hello"},
              {"protocol", kAgentProtocolVersion},
              {"sonda", kSondaVersion},
              {"git", kSondaGitHash},
              {"pid", static_cast<int64_t>(getpid())}});
  FrameReader in(in_fd);
  Frame f;
  bool greeted = false;
  while (in.next(f)) {
    const std::string type = f.type();
    if (!greeted) {
      if (type != "hello") {
        out_.write({{"type", "error"}, {"message", "expected hello first, got '" + type + "'"}});
        return 2;
      }
      if (!hello(f)) {
        return 2;
      }
      greeted = true;
      continue;
    }
    reap_finished();
    if (type == "run") {
      start_run(f);
    } else if (type == "stop") {
      auto it = runs_.find(f.header.value("id", std::string()));
      if (it != runs_.end()) {
        it->second.request_stop();
      }
    } else if (type == "describe") {
      describe(f.header.value("id", std::string()));
    } else if (type == "clock") {
      // One sample for the runner's offset estimate (NTP-style: it keeps
      // the one with the shortest round trip).
      timespec rt{};
      clock_gettime(CLOCK_REALTIME, &rt);
      out_.write({{"type", "clock"},
                  {"id", f.header.value("id", std::string())},
                  {"realtime_ns", static_cast<int64_t>(rt.tv_sec) * 1'000'000'000 + rt.tv_nsec}});
    } else if (type == "context") {
      out_.write({{"type", "context"}, {"id", f.header.value("id", std::string())}, {"context", collect_run_context()}});
    } else if (type == "bye") {
      break;
    } else {
      out_.write({{"type", "error"}, {"message", "unknown message type '" + type + "'"}});
    }
  }
  if (!in.error().empty()) {
    spdlog::error("agent: {}", in.error());
  }
  wind_down();
  out_.write({{"type", "bye"}});
  return 0;
}

}  // namespace

int agent_command(const AgentCommand& cmd) {
  signal(SIGPIPE, SIG_IGN);

  const auto [in_fd, out_fd] = take_channel();
  if (in_fd < 0) {
    spdlog::error("agent: cannot move the channel off fds 0/1: {}", std::strerror(errno));
    return 1;
  }
  Agent agent(cmd, out_fd);
  for (const auto& path : cmd.plugin_files) {
    agent.preload(path);
  }
  const int rc = agent.serve(in_fd);
  // Plugin threads that ignored their stop flag may still run: leave now,
  // without unloading libraries under them.
  std::fflush(nullptr);
  _exit(rc);
}

}  // namespace sonda
