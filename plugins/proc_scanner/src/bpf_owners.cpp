#include "bpf_owners.hpp"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "bpf_layout.hpp"
#include "sonda_common/net.hpp"

namespace sonda::proc_scanner {
namespace {

long sys_bpf(int cmd, bpf_attr& attr) {
  return ::syscall(__NR_bpf, cmd, &attr, sizeof attr);
}

// A tiny assembler: just the instruction shapes the two programs use.
class Program {
 public:
  enum Reg : uint8_t { R0 = 0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };

  void mov(Reg dst, Reg src) { emit(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
  void mov(Reg dst, int32_t imm) { emit(BPF_ALU64 | BPF_MOV | BPF_K, dst, R0, 0, imm); }
  void add(Reg dst, int32_t imm) { emit(BPF_ALU64 | BPF_ADD | BPF_K, dst, R0, 0, imm); }
  void and_(Reg dst, int32_t imm) { emit(BPF_ALU64 | BPF_AND | BPF_K, dst, R0, 0, imm); }
  /// dst = *(size *)(src + off)
  void load(uint8_t size, Reg dst, Reg src, uint32_t off) {
    emit(BPF_LDX | size | BPF_MEM, dst, src, static_cast<int16_t>(off), 0);
  }
  /// *(size *)(dst + off) = src
  void store(uint8_t size, Reg dst, int16_t off, Reg src) {
    emit(BPF_STX | size | BPF_MEM, dst, src, off, 0);
  }
  /// if (dst op imm) goto exit-with-0
  void bail_if(uint8_t op, Reg dst, int32_t imm) {
    bails_.push_back(insns_.size());
    emit(BPF_JMP | op | BPF_K, dst, R0, 0, imm);
  }
  void bail_if(uint8_t op, Reg dst, Reg src) {
    bails_.push_back(insns_.size());
    emit(BPF_JMP | op | BPF_X, dst, src, 0, 0);
  }
  void call(int32_t helper) { emit(BPF_JMP | BPF_CALL, R0, R0, 0, helper); }
  /// Ends with `return 0` and points every bail_if() there.
  const std::vector<bpf_insn>& finish() {
    const size_t exit_at = insns_.size();
    mov(R0, 0);
    emit(BPF_JMP | BPF_EXIT, R0, R0, 0, 0);
    for (const size_t at : bails_) {
      insns_[at].off = static_cast<int16_t>(exit_at - at - 1);
    }
    return insns_;
  }

 private:
  void emit(uint8_t code, Reg dst, Reg src, int16_t off, int32_t imm) {
    bpf_insn insn{};
    insn.code = code;
    insn.dst_reg = dst & 0xf;
    insn.src_reg = src & 0xf;
    insn.off = off;
    insn.imm = imm;
    insns_.push_back(insn);
  }
  std::vector<bpf_insn> insns_;
  std::vector<size_t> bails_;
};

using R = Program::Reg;

// bpf_seq_write(ctx->meta->seq, r10 - len, len); r6 holds ctx.
void write_record(Program& p, const BpfLayout& l, int32_t len) {
  p.load(BPF_DW, R::R1, R::R6, 0);  // ctx->meta
  p.load(BPF_DW, R::R1, R::R1, l.meta_seq);
  p.mov(R::R2, R::R10);
  p.add(R::R2, -len);
  p.mov(R::R3, len);
  p.call(BPF_FUNC_seq_write);
}

// iter/task_file: for each (task, fd, file) whose inode is a socket, writes
// {u32 tgid, u32 fd, u64 i_ino} (struct BpfSocketFd).
// The context is struct bpf_iter__task_file {meta, task, u32 fd, file}.
std::vector<bpf_insn> socket_fd_program(const BpfLayout& l) {
  Program p;
  p.mov(R::R6, R::R1);
  p.load(BPF_DW, R::R7, R::R6, 8);  // task
  p.bail_if(BPF_JEQ, R::R7, 0);
  p.load(BPF_DW, R::R8, R::R6, 24);  // file
  p.bail_if(BPF_JEQ, R::R8, 0);
  p.load(BPF_DW, R::R1, R::R8, l.file_inode);
  p.bail_if(BPF_JEQ, R::R1, 0);
  p.load(BPF_H, R::R2, R::R1, l.inode_mode);
  p.and_(R::R2, 0xf000);                 // S_IFMT
  p.bail_if(BPF_JNE, R::R2, 0xc000);     // S_IFSOCK
  p.load(BPF_DW, R::R3, R::R1, l.inode_ino);
  p.store(BPF_DW, R::R10, -8, R::R3);
  p.load(BPF_W, R::R3, R::R7, l.task_tgid);
  p.store(BPF_W, R::R10, -16, R::R3);
  p.load(BPF_W, R::R3, R::R6, 16);  // fd
  p.store(BPF_W, R::R10, -12, R::R3);
  write_record(p, l, 16);
  return p.finish();
}

// iter/task: for each thread group leader writes {u32 tgid, u32 flags,
// u64 start_boottime} (struct BpfTask). Context: {meta, task}.
std::vector<bpf_insn> task_program(const BpfLayout& l) {
  Program p;
  p.mov(R::R6, R::R1);
  p.load(BPF_DW, R::R7, R::R6, 8);  // task
  p.bail_if(BPF_JEQ, R::R7, 0);
  p.load(BPF_W, R::R2, R::R7, l.task_pid);
  p.load(BPF_W, R::R3, R::R7, l.task_tgid);
  p.bail_if(BPF_JNE, R::R2, R::R3);  // a thread, not the leader
  p.store(BPF_W, R::R10, -16, R::R3);
  p.load(BPF_W, R::R4, R::R7, l.task_flags);
  p.store(BPF_W, R::R10, -12, R::R4);
  p.load(BPF_DW, R::R4, R::R7, l.task_start);
  p.store(BPF_DW, R::R10, -8, R::R4);
  write_record(p, l, 16);
  return p.finish();
}

// Loads one iterator program and attaches it; returns the link fd.
common::Fd load_iterator(const std::vector<bpf_insn>& insns, uint32_t attach_btf_id,
                         const char* what, std::string& reason) {
  static const char kLicense[] = "GPL";  // bpf_seq_write is a GPL-only helper
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_TRACING;
  attr.expected_attach_type = BPF_TRACE_ITER;
  attr.attach_btf_id = attach_btf_id;
  attr.insns = reinterpret_cast<uintptr_t>(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = reinterpret_cast<uintptr_t>(kLicense);
  std::strncpy(attr.prog_name, what, sizeof attr.prog_name - 1);
  common::Fd prog(static_cast<int>(sys_bpf(BPF_PROG_LOAD, attr)));
  if (!prog) {
    const int err = errno;
    reason = std::string("bpf(BPF_PROG_LOAD ") + what + "): " + std::strerror(err);
    if (err != EPERM && err != ENOSYS) {
      // Load again with the verifier's log: its last line says what it refused.
      std::vector<char> log(1 << 16);
      attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
      attr.log_size = static_cast<uint32_t>(log.size());
      attr.log_level = 1;
      common::Fd again(static_cast<int>(sys_bpf(BPF_PROG_LOAD, attr)));
      std::string text(log.data(), ::strnlen(log.data(), log.size()));
      while (!text.empty() && text.back() == '\n') {
        text.pop_back();
      }
      if (const size_t nl = text.rfind('\n'); nl != std::string::npos) {
        text = text.substr(nl + 1);
      }
      if (!text.empty()) {
        reason += " (verifier: " + text + ")";
      }
    }
    return {};
  }
  bpf_attr link{};
  link.link_create.prog_fd = static_cast<uint32_t>(prog.get());
  link.link_create.attach_type = BPF_TRACE_ITER;
  common::Fd link_fd(static_cast<int>(sys_bpf(BPF_LINK_CREATE, link)));
  if (!link_fd) {
    reason = std::string("bpf(BPF_LINK_CREATE ") + what + "): " + std::strerror(errno);
  }
  return link_fd;  // the link holds the program
}

// "sockets: used N" from /proc/net/sockstat: every socket on the host, an
// estimate of how many records the fd iterator will return.
size_t sockets_in_use() {
  char text[512];
  common::Fd fd(::open("/proc/net/sockstat", O_RDONLY | O_CLOEXEC));
  const ssize_t n = fd ? ::read(fd.get(), text, sizeof text - 1) : -1;
  if (n <= 0) {
    return 0;
  }
  text[n] = '\0';
  const char* used = std::strstr(text, "used ");
  return used != nullptr ? std::strtoull(used + 5, nullptr, 10) : 0;
}

// Creates a fresh iterator on `link` and reads it to the end straight into
// `out`, sized up front from `expected`: on a VM a fresh page costs ~10 us,
// so growing (and copying) a buffer of half a megabyte shows in the total.
template <typename Records>
bool read_iterator(int link, size_t expected, Records& out, std::string& reason) {
  using Record = typename Records::value_type;
  bpf_attr attr{};
  attr.iter_create.link_fd = static_cast<uint32_t>(link);
  common::Fd it(static_cast<int>(sys_bpf(BPF_ITER_CREATE, attr)));
  if (!it) {
    reason = std::string("bpf(BPF_ITER_CREATE): ") + std::strerror(errno);
    return false;
  }
  out.resize(std::max<size_t>(expected, 512));
  size_t used_bytes = 0;
  for (;;) {
    if (out.size() * sizeof(Record) - used_bytes < 4096) {
      out.resize(out.size() * 2);
    }
    const ssize_t n = ::read(it.get(), reinterpret_cast<char*>(out.data()) + used_bytes,
                             out.size() * sizeof(Record) - used_bytes);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      reason = std::string("read(bpf iterator): ") + std::strerror(errno);
      return false;
    }
    if (n == 0) {
      break;
    }
    used_bytes += static_cast<size_t>(n);
  }
  out.resize(used_bytes / sizeof(Record));
  return true;
}

// The loaded programs, kept for the life of the process: a plugin polling
// with wait_for pays the layout lookup and the verifier once.
struct Loaded {
  std::mutex mutex;
  bool tried = false;
  bool layout_cached = false;  // the programs were relocated from the cache file
  std::string failure;
  common::Fd socket_fd_link;
  common::Fd task_link;

  /// Unloads the programs: the next ensure_loaded() starts over.
  void reset() {
    tried = false;
    layout_cached = false;
    failure.clear();
    socket_fd_link = common::Fd();
    task_link = common::Fd();
  }
};

Loaded& loaded() {
  static Loaded instance;
  return instance;
}

// SONDA_BPF_LAYOUT_CACHE: another cache file, or "" for none.
std::string layout_cache_path() {
  const char* env = std::getenv("SONDA_BPF_LAYOUT_CACHE");
  return env != nullptr ? std::string(env) : std::string(kLayoutCachePath);
}

// Relocates and loads both programs; false with state.failure.
bool load_programs(Loaded& state, const BpfLayout& layout) {
  state.socket_fd_link = load_iterator(socket_fd_program(layout), layout.task_file_func,
                                       "sonda_sock_fds", state.failure);
  if (state.socket_fd_link) {
    state.task_link =
        load_iterator(task_program(layout), layout.task_func, "sonda_tasks", state.failure);
  }
  if (!state.task_link) {
    state.socket_fd_link = common::Fd();
    return false;
  }
  return true;
}

// Loads the programs once per process: from the cached layout when it
// loads, else from the kernel's BTF (then cached for the next process).
bool ensure_loaded(Loaded& state, const std::string& cache_path, int64_t& setup_ns) {
  if (state.tried) {
    return static_cast<bool>(state.task_link);
  }
  state.tried = true;
  const int64_t start_ns = common::monotonic_ns();
  const std::string boot_id = cache_path.empty() ? std::string() : current_boot_id();
  if (const auto cached = read_layout_cache(cache_path, boot_id)) {
    state.layout_cached = load_programs(state, *cached);
  }
  if (!state.layout_cached) {
    BpfLayout layout;
    if (!layout_from_btf(layout, state.failure) || !load_programs(state, layout)) {
      return false;
    }
    write_layout_cache(cache_path, boot_id, layout);  // best effort
  }
  setup_ns = common::monotonic_ns() - start_ns;
  return true;
}

// Reads both iterators, with the self-check: a socket of ours must come
// back with our pid and its inode. It fails when this process sits in a
// nested pid namespace (the programs see init-namespace pids, /proc shows
// ours) or the layout was misread.
std::optional<BpfOwnerDump> read_owners(const Loaded& state, std::string& reason) {
  BpfOwnerDump dump;
  common::Fd probe(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  struct stat probe_stat {};
  if (!probe || ::fstat(probe.get(), &probe_stat) != 0) {
    reason = std::string("socket(AF_UNIX) for the self-check: ") + std::strerror(errno);
    return std::nullopt;
  }
  const size_t sockets = sockets_in_use();
  if (!read_iterator(state.socket_fd_link.get(), sockets + sockets / 4 + 256, dump.socket_fds,
                     reason) ||
      !read_iterator(state.task_link.get(), 1024, dump.tasks, reason)) {
    return std::nullopt;
  }
  const auto self = static_cast<uint32_t>(::getpid());
  const auto is_probe = [&](const BpfSocketFd& s) {
    return s.inode == probe_stat.st_ino && s.tgid == self &&
           s.fd == static_cast<uint32_t>(probe.get());
  };
  const auto probe_at = std::find_if(dump.socket_fds.begin(), dump.socket_fds.end(), is_probe);
  if (probe_at == dump.socket_fds.end()) {
    reason = "BPF iterator self-check failed (pid " + std::to_string(self) +
             " not seen holding its own socket: nested pid namespace?)";
    return std::nullopt;
  }
  dump.socket_fds.erase(probe_at);  // the probe is ours, not part of the host's picture
  return dump;
}

}  // namespace

std::optional<BpfOwnerDump> bpf_dump_owners(std::string& reason) {
  static_assert(sizeof(BpfSocketFd) == 16 && sizeof(BpfTask) == 16, "record layout");
  Loaded& state = loaded();
  std::lock_guard lock(state.mutex);
  const std::string cache_path = layout_cache_path();
  int64_t setup_ns = 0;
  if (!ensure_loaded(state, cache_path, setup_ns)) {
    reason = state.failure;
    return std::nullopt;
  }
  auto dump = read_owners(state, reason);
  if (!dump && state.layout_cached) {
    // A cached layout the verifier took but that misreads: drop the file
    // and relocate from the BTF once more.
    ::unlink(cache_path.c_str());
    state.reset();
    if (!ensure_loaded(state, cache_path, setup_ns)) {
      reason = state.failure;
      return std::nullopt;
    }
    dump = read_owners(state, reason);
  }
  if (dump) {
    dump->setup_ns = setup_ns;
    dump->layout_cached = state.layout_cached;
  }
  return dump;
}

}  // namespace sonda::proc_scanner
