#include "kernel_btf.hpp"

#include <fcntl.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sonda_common/net.hpp"

namespace sonda::proc_scanner {
namespace {

constexpr const char* kVmlinuxPath = "/sys/kernel/btf/vmlinux";

// Bytes that follow struct btf_type for each kind (include/uapi/linux/btf.h).
// Returns false for a kind this reader does not know (a newer kernel):
// the walk cannot skip what it cannot size.
bool extra_bytes(uint32_t kind, uint32_t vlen, size_t& out) {
  switch (kind) {
    case BTF_KIND_INT:
    case BTF_KIND_VAR:
    case BTF_KIND_DECL_TAG:
      out = 4;
      return true;
    case BTF_KIND_ARRAY:
      out = sizeof(btf_array);
      return true;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
      out = vlen * sizeof(btf_member);
      return true;
    case BTF_KIND_ENUM:
      out = vlen * sizeof(btf_enum);
      return true;
    case BTF_KIND_FUNC_PROTO:
      out = vlen * sizeof(btf_param);
      return true;
    case BTF_KIND_DATASEC:
      out = vlen * sizeof(btf_var_secinfo);
      return true;
    case 19:  // BTF_KIND_ENUM64 (newer than some uapi headers)
      out = vlen * 12;
      return true;
    case BTF_KIND_PTR:
    case BTF_KIND_FWD:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_FUNC:
    case BTF_KIND_FLOAT:
    case 18:  // BTF_KIND_TYPE_TAG
      out = 0;
      return true;
    default:
      return false;
  }
}

uint32_t kind_of(const btf_type* t) { return BTF_INFO_KIND(t->info); }

}  // namespace

KernelBtf::KernelBtf(KernelBtf&& other) noexcept { *this = std::move(other); }

KernelBtf& KernelBtf::operator=(KernelBtf&& other) noexcept {
  if (this != &other) {
    if (mapping_ != nullptr) {
      ::munmap(mapping_, size_);
    }
    data_ = other.data_;
    size_ = other.size_;
    mapping_ = other.mapping_;
    owned_ = std::move(other.owned_);
    if (mapping_ == nullptr && !owned_.empty()) {
      data_ = owned_.data();  // vector move keeps the buffer, but say so
    }
    types_ = other.types_;
    strings_ = other.strings_;
    strings_len_ = other.strings_len_;
    types_len_ = other.types_len_;
    type_count_ = other.type_count_;
    checkpoints_ = std::move(other.checkpoints_);
    other.mapping_ = nullptr;
    other.data_ = nullptr;
  }
  return *this;
}

KernelBtf::~KernelBtf() {
  if (mapping_ != nullptr) {
    ::munmap(mapping_, size_);
  }
}

std::optional<KernelBtf> KernelBtf::load_vmlinux(std::string& error) {
  common::Fd fd(::open(kVmlinuxPath, O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || st.st_size <= 0) {
    error = std::string(kVmlinuxPath) + ": " + std::strerror(errno) +
            " (kernel built without CONFIG_DEBUG_INFO_BTF?)";
    return std::nullopt;
  }
  KernelBtf btf;
  btf.size_ = static_cast<size_t>(st.st_size);
  // Kernels since 6.16 let the blob be mapped; older ones are read.
  // MAP_POPULATE: one call maps every page instead of a fault per page.
  void* map = ::mmap(nullptr, btf.size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (map != MAP_FAILED) {
    btf.mapping_ = map;
    btf.data_ = static_cast<const uint8_t*>(map);
  } else {
    btf.owned_.resize(btf.size_);
    size_t got = 0;
    while (got < btf.size_) {
      const ssize_t n = ::read(fd.get(), btf.owned_.data() + got, btf.size_ - got);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        error = std::string("read(") + kVmlinuxPath + "): " +
                (n == 0 ? "short file" : std::strerror(errno));
        return std::nullopt;
      }
      got += static_cast<size_t>(n);
    }
    btf.data_ = btf.owned_.data();
  }
  if (!btf.index(error)) {
    return std::nullopt;
  }
  return btf;
}

std::optional<KernelBtf> KernelBtf::from_bytes(std::vector<uint8_t> bytes, std::string& error) {
  KernelBtf btf;
  btf.owned_ = std::move(bytes);
  btf.data_ = btf.owned_.data();
  btf.size_ = btf.owned_.size();
  if (!btf.index(error)) {
    return std::nullopt;
  }
  return btf;
}

bool KernelBtf::index(std::string& error) {
  btf_header hdr{};
  if (size_ < sizeof hdr) {
    error = "BTF blob shorter than its header";
    return false;
  }
  std::memcpy(&hdr, data_, sizeof hdr);
  if (hdr.magic != BTF_MAGIC) {
    error = "BTF magic mismatch (foreign byte order or not BTF)";
    return false;
  }
  const uint64_t types_end = uint64_t{hdr.hdr_len} + hdr.type_off + hdr.type_len;
  const uint64_t strings_end = uint64_t{hdr.hdr_len} + hdr.str_off + hdr.str_len;
  if (hdr.hdr_len < sizeof hdr || types_end > size_ || strings_end > size_ || hdr.str_len == 0) {
    error = "BTF header points outside the blob";
    return false;
  }
  types_ = data_ + hdr.hdr_len + hdr.type_off;
  strings_ = reinterpret_cast<const char*>(data_ + hdr.hdr_len + hdr.str_off);
  strings_len_ = hdr.str_len;
  types_len_ = hdr.type_len;
  type_count_ = 0;
  checkpoints_.clear();
  checkpoints_.reserve(hdr.type_len / (24 * kStride) + 1);
  for (size_t off = 0; off < hdr.type_len;) {
    if (off + sizeof(btf_type) > hdr.type_len) {
      error = "BTF type section ends inside a type";
      return false;
    }
    btf_type t{};
    std::memcpy(&t, types_ + off, sizeof t);
    size_t extra = 0;
    if (!extra_bytes(kind_of(&t), BTF_INFO_VLEN(t.info), extra)) {
      error = "BTF type " + std::to_string(type_count_ + 1) + " has unknown kind " +
              std::to_string(kind_of(&t));
      return false;
    }
    if (type_count_ % kStride == 0) {
      checkpoints_.push_back(static_cast<uint32_t>(off));
    }
    ++type_count_;
    off += sizeof(btf_type) + extra;
  }
  return true;
}

namespace {

// Size of a type record including its kind-specific tail (validated by index()).
size_t record_size(const uint8_t* at) {
  btf_type t{};
  std::memcpy(&t, at, sizeof t);
  size_t extra = 0;
  extra_bytes(kind_of(&t), BTF_INFO_VLEN(t.info), extra);
  return sizeof(btf_type) + extra;
}

}  // namespace

const uint8_t* KernelBtf::type_at(uint32_t id) const {
  if (id == 0 || id > type_count_) {
    return nullptr;
  }
  const uint32_t index = id - 1;
  const uint8_t* at = types_ + checkpoints_[index / kStride];
  for (uint32_t i = index % kStride; i > 0; --i) {
    at += record_size(at);
  }
  return at;
}

std::string_view KernelBtf::name_at(uint32_t name_off) const {
  if (name_off >= strings_len_) {
    return {};
  }
  const char* s = strings_ + name_off;
  return {s, ::strnlen(s, strings_len_ - name_off)};
}

uint32_t KernelBtf::find(uint32_t kind, std::string_view name) const {
  return find_all({{kind, name}}).front();
}

std::vector<uint32_t> KernelBtf::find_all(const std::vector<Wanted>& wanted) const {
  std::vector<uint32_t> ids(wanted.size(), 0);
  size_t missing = wanted.size();
  const uint8_t* at = types_;
  for (uint32_t id = 1; id <= type_count_ && missing > 0; ++id) {
    const auto* t = reinterpret_cast<const btf_type*>(at);
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (ids[i] == 0 && kind_of(t) == wanted[i].kind && name_at(t->name_off) == wanted[i].name) {
        ids[i] = id;
        --missing;
      }
    }
    at += record_size(at);
  }
  return ids;
}

uint32_t KernelBtf::peel(uint32_t id) const {
  for (int depth = 0; depth < 32; ++depth) {
    const auto* t = reinterpret_cast<const btf_type*>(type_at(id));
    if (t == nullptr) {
      return 0;
    }
    switch (kind_of(t)) {
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case 18:  // BTF_KIND_TYPE_TAG
        id = t->type;
        break;
      default:
        return id;
    }
  }
  return 0;
}

uint32_t KernelBtf::size_of(uint32_t id) const {
  const auto* t = reinterpret_cast<const btf_type*>(type_at(peel(id)));
  if (t == nullptr) {
    return 0;
  }
  switch (kind_of(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_ENUM:
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
    case 19:  // ENUM64
      return t->size;
    case BTF_KIND_PTR:
      return 8;
    default:
      return 0;
  }
}

std::optional<BtfMember> KernelBtf::member(uint32_t type_id, std::string_view name) const {
  const auto* t = reinterpret_cast<const btf_type*>(type_at(peel(type_id)));
  if (t == nullptr || (kind_of(t) != BTF_KIND_STRUCT && kind_of(t) != BTF_KIND_UNION)) {
    return std::nullopt;
  }
  const bool kflag = BTF_INFO_KFLAG(t->info) != 0;
  const auto* members = reinterpret_cast<const btf_member*>(t + 1);
  for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i) {
    const btf_member& m = members[i];
    const uint32_t bit_offset = kflag ? BTF_MEMBER_BIT_OFFSET(m.offset) : m.offset;
    const uint32_t bitfield_size = kflag ? BTF_MEMBER_BITFIELD_SIZE(m.offset) : 0;
    const std::string_view member_name = name_at(m.name_off);
    if (member_name.empty()) {  // anonymous struct/union: look inside
      if (auto inner = member(m.type, name); inner && bit_offset % 8 == 0) {
        inner->byte_offset += bit_offset / 8;
        return inner;
      }
      continue;
    }
    if (member_name != name) {
      continue;
    }
    if (bitfield_size != 0 || bit_offset % 8 != 0) {
      return std::nullopt;
    }
    BtfMember out;
    out.byte_offset = bit_offset / 8;
    out.size_bytes = size_of(m.type);
    const auto* mt = reinterpret_cast<const btf_type*>(type_at(peel(m.type)));
    if (mt != nullptr && kind_of(mt) == BTF_KIND_PTR) {
      out.is_pointer = true;
      out.pointee_type = peel(mt->type);
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace sonda::proc_scanner
