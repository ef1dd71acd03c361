#include "bpf_layout.hpp"

#include <fcntl.h>
#include <linux/btf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

#include "kernel_btf.hpp"
#include "private_file.hpp"
#include "proc_read.hpp"
#include "sonda_common/net.hpp"

namespace sonda::proc_scanner {
namespace {

constexpr std::string_view kMagic = "sonda-bpf-layout 1";

// The cache's fields, by name: the reader and the writer share this table.
struct Field {
  const char* name;
  uint32_t BpfLayout::*member;
};
constexpr Field kFields[] = {
    {"task_file_func", &BpfLayout::task_file_func}, {"task_func", &BpfLayout::task_func},
    {"meta_seq", &BpfLayout::meta_seq},             {"task_pid", &BpfLayout::task_pid},
    {"task_tgid", &BpfLayout::task_tgid},           {"task_flags", &BpfLayout::task_flags},
    {"task_start", &BpfLayout::task_start},         {"file_inode", &BpfLayout::file_inode},
    {"inode_mode", &BpfLayout::inode_mode},         {"inode_ino", &BpfLayout::inode_ino}};

// The whole of a small file (under 4 KiB); false when unreadable or larger.
bool read_small_file(int fd, std::string& out) {
  char buf[4096];
  const ssize_t n = read_small_fd(fd, buf, sizeof buf);
  if (n < 0 || static_cast<size_t>(n) == sizeof buf - 1) {
    return false;
  }
  out.assign(buf, static_cast<size_t>(n));
  return true;
}

// Finds `type.name` and checks its size, so a kernel whose layout differs in
// a way the programs cannot express is refused instead of misread.
bool need(const KernelBtf& btf, uint32_t type_id, const char* type, const char* name,
          uint32_t size, bool pointer, uint32_t& offset, std::string& reason) {
  const auto m = btf.member(type_id, name);
  if (!m) {
    reason = std::string("kernel BTF has no ") + type + "." + name;
    return false;
  }
  if (m->size_bytes != size || m->is_pointer != pointer) {
    reason = std::string("kernel BTF: ") + type + "." + name + " is " +
             std::to_string(m->size_bytes) + " bytes, expected " + std::to_string(size);
    return false;
  }
  offset = m->byte_offset;
  return true;
}

}  // namespace

bool layout_from_btf(BpfLayout& l, std::string& reason) {
  auto btf = KernelBtf::load_vmlinux(reason);
  if (!btf) {
    return false;
  }
  const std::vector<uint32_t> ids = btf->find_all({{BTF_KIND_FUNC, "bpf_iter_task_file"},
                                                   {BTF_KIND_FUNC, "bpf_iter_task"},
                                                   {BTF_KIND_STRUCT, "task_struct"},
                                                   {BTF_KIND_STRUCT, "file"},
                                                   {BTF_KIND_STRUCT, "inode"},
                                                   {BTF_KIND_STRUCT, "bpf_iter_meta"}});
  l.task_file_func = ids[0];
  l.task_func = ids[1];
  const uint32_t task = ids[2];
  const uint32_t file = ids[3];
  const uint32_t inode = ids[4];
  const uint32_t meta = ids[5];
  if (l.task_file_func == 0 || l.task_func == 0) {
    reason = "kernel has no task/task_file BPF iterators (needs Linux 5.8+)";
    return false;
  }
  if (task == 0 || file == 0 || inode == 0 || meta == 0) {
    reason = "kernel BTF lacks task_struct, file, inode or bpf_iter_meta";
    return false;
  }
  return need(*btf, meta, "bpf_iter_meta", "seq", 8, true, l.meta_seq, reason) &&
         need(*btf, task, "task_struct", "pid", 4, false, l.task_pid, reason) &&
         need(*btf, task, "task_struct", "tgid", 4, false, l.task_tgid, reason) &&
         need(*btf, task, "task_struct", "flags", 4, false, l.task_flags, reason) &&
         need(*btf, task, "task_struct", "start_boottime", 8, false, l.task_start, reason) &&
         need(*btf, file, "file", "f_inode", 8, true, l.file_inode, reason) &&
         need(*btf, inode, "inode", "i_mode", 2, false, l.inode_mode, reason) &&
         need(*btf, inode, "inode", "i_ino", 8, false, l.inode_ino, reason);
}


std::string current_boot_id() {
  common::Fd fd(::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC));
  std::string text;
  if (!fd || !read_small_file(fd.get(), text)) {
    return {};
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

std::optional<BpfLayout> read_layout_cache(const std::string& path, const std::string& boot_id) {
  if (boot_id.empty()) {
    return std::nullopt;
  }
  // Trust only a file this user wrote and nobody else can change.
  const std::optional<std::string> text = read_private_file(path, 4095);
  if (!text) {
    return std::nullopt;
  }
  std::string_view rest = *text;
  const auto next_line = [&rest]() {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    return line;
  };
  if (next_line() != kMagic || next_line() != "boot_id " + boot_id) {
    return std::nullopt;
  }
  BpfLayout layout;
  bool seen[std::size(kFields)] = {};
  while (!rest.empty()) {
    const std::string_view line = next_line();
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view name = line.substr(0, space);
    const std::string_view value = line.substr(space + 1);
    size_t i = 0;
    while (i < std::size(kFields) && name != kFields[i].name) {
      ++i;
    }
    uint32_t number = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (i == std::size(kFields) || seen[i] || ec != std::errc() ||
        end != value.data() + value.size()) {
      return std::nullopt;
    }
    layout.*kFields[i].member = number;
    seen[i] = true;
  }
  for (const bool s : seen) {
    if (!s) {
      return std::nullopt;
    }
  }
  return layout;
}

bool write_layout_cache(const std::string& path, const std::string& boot_id,
                        const BpfLayout& layout) {
  if (boot_id.empty()) {
    return false;
  }
  std::string text(kMagic);
  text += "\nboot_id " + boot_id + "\n";
  for (const Field& f : kFields) {
    text += f.name;
    text += ' ';
    text += std::to_string(layout.*f.member);
    text += '\n';
  }
  return write_private_file(path, text);
}

}  // namespace sonda::proc_scanner
