// A minimal reader of the running kernel's BTF (/sys/kernel/btf/vmlinux):
// just enough to find a few struct member offsets and a function's type id,
// which is all the owner iterator (bpf_owners.cpp) needs to be relocated to
// this kernel. libbpf would do the same through its full BTF parser, which
// validates and indexes all ~130k types (45-65 ms here); this walk takes a
// few milliseconds, and a scan is meant to cost less than that in total.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sonda::proc_scanner {

/// Where a member sits and what it is, with typedefs and qualifiers peeled.
struct BtfMember {
  uint32_t byte_offset = 0;
  uint32_t size_bytes = 0;    ///< 8 for pointers; 0 when the size is unknown
  bool is_pointer = false;
  uint32_t pointee_type = 0;  ///< resolved type id the pointer points to
};

/// Read-only view of one BTF blob (the kernel's, or bytes a test built).
class KernelBtf {
 public:
  /// Maps (or reads) /sys/kernel/btf/vmlinux. std::nullopt with `error`
  /// set when the kernel has no BTF or the blob is malformed.
  static std::optional<KernelBtf> load_vmlinux(std::string& error);

  /// Parses a blob held in `bytes`. std::nullopt with `error` when malformed.
  static std::optional<KernelBtf> from_bytes(std::vector<uint8_t> bytes, std::string& error);

  KernelBtf(KernelBtf&& other) noexcept;
  KernelBtf& operator=(KernelBtf&& other) noexcept;
  KernelBtf(const KernelBtf&) = delete;
  KernelBtf& operator=(const KernelBtf&) = delete;
  ~KernelBtf();

  /// A (BTF_KIND_*, name) pair to look up.
  struct Wanted {
    uint32_t kind;
    std::string_view name;
  };

  /// Type id of the first type of `kind` (BTF_KIND_*) named `name`; 0 if none.
  uint32_t find(uint32_t kind, std::string_view name) const;

  /// find() for several types in one walk over the ~130k types: ids in the
  /// order of `wanted`, 0 for those absent.
  std::vector<uint32_t> find_all(const std::vector<Wanted>& wanted) const;

  /// Member `name` of struct/union `type_id`, looking through anonymous
  /// struct/union members (the kernel wraps fields in them, e.g. under
  /// randomized layouts). std::nullopt when absent or a bitfield.
  std::optional<BtfMember> member(uint32_t type_id, std::string_view name) const;

  /// Number of types (ids 1..count).
  uint32_t type_count() const { return type_count_; }

 private:
  KernelBtf() = default;
  bool index(std::string& error);
  const uint8_t* type_at(uint32_t id) const;
  std::string_view name_at(uint32_t name_off) const;
  uint32_t peel(uint32_t id) const;  // skips typedef/const/volatile/restrict/type_tag
  uint32_t size_of(uint32_t id) const;

  const uint8_t* data_ = nullptr;  // whole blob
  size_t size_ = 0;
  void* mapping_ = nullptr;        // munmap on destruction when mmap()ed
  std::vector<uint8_t> owned_;     // or the bytes themselves
  const uint8_t* types_ = nullptr;
  const char* strings_ = nullptr;
  uint32_t strings_len_ = 0;
  uint32_t types_len_ = 0;
  uint32_t type_count_ = 0;
  // Byte offset of every kStride-th type (ids 1, 1+kStride, ...): a full
  // id -> offset table for ~130k types is half a megabyte of fresh pages,
  // more than the walk; type_at() steps at most kStride-1 types from here.
  static constexpr uint32_t kStride = 32;
  std::vector<uint32_t> checkpoints_;
};

}  // namespace sonda::proc_scanner
