// KernelBtf on a hand-built blob (exact offsets, anonymous members, bad
// input) and on the running kernel's own BTF, plus the BPF owner lookup
// against the /proc walk it replaces.
#include <linux/btf.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "bpf_owners.hpp"
#include "kernel_btf.hpp"
#include "proc_table.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

// Builds a BTF blob type by type, the way the kernel lays it out.
class BlobBuilder {
 public:
  uint32_t name(const std::string& text) {
    const auto off = static_cast<uint32_t>(strings_.size());
    strings_.insert(strings_.end(), text.begin(), text.end());
    strings_.push_back('\0');
    return off;
  }
  void type(uint32_t name_off, uint32_t kind, uint32_t vlen, uint32_t size_or_type) {
    put(name_off);
    put((kind << 24) | vlen);
    put(size_or_type);
  }
  void member(uint32_t name_off, uint32_t type_id, uint32_t bit_offset) {
    put(name_off);
    put(type_id);
    put(bit_offset);
  }
  void put(uint32_t word) {
    const auto* p = reinterpret_cast<const uint8_t*>(&word);
    types_.insert(types_.end(), p, p + 4);
  }
  std::vector<uint8_t> blob(uint16_t magic = BTF_MAGIC) const {
    btf_header h{};
    h.magic = magic;
    h.version = 1;
    h.hdr_len = sizeof h;
    h.type_off = 0;
    h.type_len = static_cast<uint32_t>(types_.size());
    h.str_off = h.type_len;
    h.str_len = static_cast<uint32_t>(strings_.size());
    std::vector<uint8_t> out(sizeof h + types_.size() + strings_.size());
    std::memcpy(out.data(), &h, sizeof h);
    std::memcpy(out.data() + sizeof h, types_.data(), types_.size());
    std::memcpy(out.data() + sizeof h + types_.size(), strings_.data(), strings_.size());
    return out;
  }

 private:
  std::vector<uint8_t> types_;
  std::vector<char> strings_{'\0'};
};

// 1 int, 2 outer*, 3 struct inner {int b @32}, 4 struct outer {int a; union
// {inner} @64; outer* p @128}, 5 typedef int my_int, 6 func fn.
BlobBuilder sample() {
  BlobBuilder b;
  b.type(b.name("int"), BTF_KIND_INT, 0, 4);
  b.put(32);  // encoding: 32 bits
  b.type(0, BTF_KIND_PTR, 0, 4);
  b.type(b.name("inner"), BTF_KIND_STRUCT, 1, 8);
  b.member(b.name("b"), 1, 32);
  b.type(b.name("outer"), BTF_KIND_STRUCT, 4, 32);
  b.member(b.name("a"), 1, 0);
  b.member(0, 3, 64);
  b.member(b.name("p"), 2, 128);
  b.member(b.name("t"), 5, 192);
  b.type(b.name("my_int"), BTF_KIND_TYPEDEF, 0, 1);
  b.type(b.name("fn"), BTF_KIND_FUNC, 0, 0);
  return b;
}

TEST(KernelBtf, FindsMembersThroughAnonymousStructsAndTypedefs) {
  std::string error;
  auto btf = KernelBtf::from_bytes(sample().blob(), error);
  ASSERT_TRUE(btf) << error;
  EXPECT_EQ(btf->type_count(), 6u);
  const uint32_t outer = btf->find(BTF_KIND_STRUCT, "outer");
  EXPECT_EQ(outer, 4u);
  EXPECT_EQ(btf->find(BTF_KIND_FUNC, "fn"), 6u);
  EXPECT_EQ(btf->find(BTF_KIND_STRUCT, "fn"), 0u) << "kind must match too";
  const auto a = btf->member(outer, "a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->byte_offset, 0u);
  EXPECT_EQ(a->size_bytes, 4u);
  const auto b = btf->member(outer, "b");  // inside the anonymous member at byte 8
  ASSERT_TRUE(b);
  EXPECT_EQ(b->byte_offset, 12u);
  const auto p = btf->member(outer, "p");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->byte_offset, 16u);
  EXPECT_TRUE(p->is_pointer);
  EXPECT_EQ(p->size_bytes, 8u);
  EXPECT_EQ(p->pointee_type, outer);
  const auto t = btf->member(outer, "t");  // typedef peeled to int
  ASSERT_TRUE(t);
  EXPECT_EQ(t->byte_offset, 24u);
  EXPECT_EQ(t->size_bytes, 4u);
  EXPECT_FALSE(btf->member(outer, "nope"));
  EXPECT_FALSE(btf->member(1, "a")) << "an int has no members";
}

TEST(KernelBtf, RefusesMalformedBlobs) {
  std::string error;
  EXPECT_FALSE(KernelBtf::from_bytes(sample().blob(0x1234), error));
  EXPECT_NE(error.find("magic"), std::string::npos) << error;

  std::vector<uint8_t> truncated = sample().blob();
  truncated.resize(truncated.size() - 10);
  EXPECT_FALSE(KernelBtf::from_bytes(truncated, error));
  EXPECT_NE(error.find("outside"), std::string::npos) << error;

  BlobBuilder unknown;
  unknown.type(unknown.name("x"), 31, 0, 0);
  EXPECT_FALSE(KernelBtf::from_bytes(unknown.blob(), error));
  EXPECT_NE(error.find("unknown kind 31"), std::string::npos) << error;

  EXPECT_FALSE(KernelBtf::from_bytes({1, 2, 3}, error));
}

TEST(KernelBtf, ReadsTheRunningKernelsLayout) {
  std::string error;
  auto btf = KernelBtf::load_vmlinux(error);
  if (!btf) {
    FAIL() << "cannot run: " << "no kernel BTF here: " << error;
  }
  EXPECT_GT(btf->type_count(), 1000u);
  const uint32_t task = btf->find(BTF_KIND_STRUCT, "task_struct");
  ASSERT_NE(task, 0u);
  const auto pid = btf->member(task, "pid");
  const auto tgid = btf->member(task, "tgid");
  ASSERT_TRUE(pid && tgid);
  EXPECT_EQ(tgid->byte_offset, pid->byte_offset + 4) << "pid_t pid; pid_t tgid; side by side";
}

// The BPF iterators against the /proc walk, on sockets this test owns.
TEST(BpfOwners, AgreeWithTheProcWalk) {
  std::vector<int> fds;
  for (int i = 0; i < 50; ++i) {
    fds.push_back(testing::bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0));
  }
  const int listener = testing::bound_socket(AF_INET6, SOCK_STREAM, "::1", 0, 16);
  fds.push_back(listener);
  fds.push_back(::dup(listener));  // one socket, two fds: one owner entry
  WalkOptions bpf;
  bpf.source = OwnerSource::kBpf;
  OwnerIndex via_bpf;
  try {
    via_bpf = walk_proc(bpf);
  } catch (const std::exception& e) {
    testing::close_all(fds);
    FAIL() << "cannot run: " << e.what();
  }
  WalkOptions procfs;
  procfs.source = OwnerSource::kProcfs;
  const OwnerIndex via_procfs = walk_proc(procfs);
  EXPECT_EQ(via_bpf.source, "bpf_iter");
  EXPECT_EQ(via_procfs.source, "procfs");
  const auto ours = [](const OwnerIndex& index) {
    std::set<std::pair<uint64_t, int>> pairs;
    for (const auto& [inode, p] : index.inode_owners) {
      if (index.processes[p].pid == ::getpid()) {
        pairs.emplace(inode, index.processes[p].pid);
      }
    }
    return pairs;
  };
  const auto from_bpf = ours(via_bpf);
  EXPECT_EQ(from_bpf, ours(via_procfs));
  EXPECT_GE(from_bpf.size(), 51u);
  EXPECT_GT(via_bpf.kernel_threads, 0u) << "the task iterator sees kernel threads";
  EXPECT_GE(via_bpf.processes_seen, via_bpf.processes.size());
  testing::close_all(fds);
}

TEST(BpfOwners, CustomProcRootFallsBackWithAReason) {
  WalkOptions options;
  options.proc_root = "/nonexistent-proc";
  EXPECT_THROW(walk_proc(options), std::system_error);  // the /proc walk then fails loudly
  options.source = OwnerSource::kBpf;
  try {
    walk_proc(options);
    ADD_FAILURE() << "BPF must not stand in for a custom proc root";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not the live /proc"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sonda::proc_scanner
