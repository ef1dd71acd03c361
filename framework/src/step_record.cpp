#include "step_record.hpp"

#include "json_scan.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <vector>

namespace sonda {

namespace {

/// Builds only the filtered parts of a document (see StepRecord::tree).
class FilteredBuilder {
 public:
  using json = nlohmann::json;

  explicit FilteredBuilder(const RecordFilter& root) : root_filter_(&root) {}
  json& result() { return root_; }

  bool null() { return scalar(nullptr); }
  bool boolean(bool v) { return scalar(v); }
  bool number_integer(json::number_integer_t v) { return scalar(v); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return scalar(v); }
  bool string(json::string_t& v) { return scalar(std::move(v)); }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (skip_depth_ == 0) {
      key_ = std::move(k);
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  struct Level {
    json* value;
    const RecordFilter* filter;
    size_t next_index;
  };

  /// Where the next value goes, or nullptr to skip it; sets `filter`.
  json* slot(const RecordFilter*& filter) {
    if (stack_.empty()) {
      filter = root_filter_;
      return &root_;
    }
    Level& top = stack_.back();
    if (top.value->is_array()) {
      const size_t index = top.next_index++;
      top.value->push_back(nullptr);  // a placeholder keeps later indexes right
      if (top.filter->whole) {
        filter = top.filter;
      } else {
        const auto it = top.filter->indexes.find(index);
        if (it == top.filter->indexes.end()) {
          return nullptr;
        }
        filter = &it->second;
      }
      return &top.value->back();  // stable: no push to this array while it is filled
    }
    if (top.filter->whole) {
      filter = top.filter;
    } else {
      const auto it = top.filter->keys.find(key_);
      if (it == top.filter->keys.end()) {
        return nullptr;
      }
      filter = &it->second;
    }
    return &(*top.value)[key_];
  }
  template <typename T>
  bool scalar(T&& v) {
    const RecordFilter* filter = nullptr;
    if (skip_depth_ == 0) {
      if (json* s = slot(filter)) {
        *s = std::forward<T>(v);
      }
    }
    return true;
  }
  bool open(json empty) {
    const RecordFilter* filter = nullptr;
    json* s = skip_depth_ == 0 ? slot(filter) : nullptr;
    if (s == nullptr) {
      ++skip_depth_;
      return true;
    }
    *s = std::move(empty);
    stack_.push_back({s, filter, 0});
    return true;
  }
  bool close() {
    if (skip_depth_ > 0) {
      --skip_depth_;
    } else {
      stack_.pop_back();
    }
    return true;
  }

  const RecordFilter* root_filter_;
  json root_;
  std::vector<Level> stack_;
  std::string key_;
  int skip_depth_ = 0;
};

bool is_layout(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Re-lays out valid JSON text the way dump(indent) does, token by token
/// without a tree, so run.json stays readable; key order stays the plugin's.
void write_indented(JsonOut& out, std::string_view text, int indent, int level) {
  constexpr size_t kChunk = 1 << 16;
  std::string buf;
  buf.reserve(kChunk + 256);
  const auto newline = [&](int depth) {
    buf += '\n';
    buf.append(static_cast<size_t>(indent) * static_cast<size_t>(depth), ' ');
  };
  int depth = level;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        buf += c;
        escaped = false;
        continue;
      }
      // Copy the plain run of the string at once: most of a record is strings.
      const size_t end = std::min(text.find_first_of("\"\\", i), text.size());
      buf.append(text.substr(i, end - i));
      if (end < text.size()) {
        buf += text[end];
        escaped = text[end] == '\\';
        in_string = text[end] != '"';
      }
      i = end;
    } else if (c == '"') {
      in_string = true;
      buf += c;
    } else if (c == '{' || c == '[') {
      size_t next = i + 1;
      while (next < text.size() && is_layout(text[next])) {
        ++next;
      }
      buf += c;
      if (next < text.size() && (text[next] == '}' || text[next] == ']')) {
        buf += text[next];  // empty: "{}" / "[]" on one line, as dump() does
        i = next;
      } else {
        newline(++depth);
      }
    } else if (c == '}' || c == ']') {
      newline(--depth);
      buf += c;
    } else if (c == ',') {
      buf += c;
      newline(depth);
    } else if (c == ':') {
      buf += ": ";
    } else if (!is_layout(c)) {
      buf += c;
    }
    if (buf.size() >= kChunk) {
      out.write(buf);
      buf.clear();
    }
  }
  out.write(buf);
}

}  // namespace

StepRecord::StepRecord(nlohmann::json tree) {
  if (tree.is_object()) {
    top_ = std::move(tree);
  } else {
    top_ = nlohmann::json::object();
    top_["value"] = std::move(tree);
  }
}

StepRecord StepRecord::from_text(std::string_view text) {
  std::string problem;
  return from_text(std::string(text), problem);
}

namespace {

const char* kind_name(nlohmann::json::value_t t) {
  switch (t) {
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::null: return "null";
    default: return "a number";
  }
}

}  // namespace

StepRecord StepRecord::from_text(std::string&& text, std::string& problem) {
  auto kept = std::make_shared<std::string>(std::move(text));
  char* data = kept->data();
  const size_t size = kept->size();
  return from_scanned(std::move(kept), data, size, problem);
}

namespace {

/// A private, writable mapping of a memfd: the scan rewrites layout bytes
/// in place, and only the pages it touches are copied.
struct Mapping {
  Mapping(void* a, size_t n) : addr(a), length(n) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { munmap(addr, length); }
  void* addr;
  size_t length;
};

}  // namespace

StepRecord StepRecord::from_memfd(int fd, size_t size, std::string& problem) {
  struct stat st {};
  const int seals = fcntl(fd, F_GET_SEALS);
  constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_WRITE;
  if (fstat(fd, &st) != 0 || seals < 0 || (seals & kSeals) != kSeals || st.st_size < 0 ||
      static_cast<uint64_t>(st.st_size) != static_cast<uint64_t>(size) + 1) {
    problem = "unusable record descriptor (not a sealed memfd of " + std::to_string(size) + " bytes and a NUL)";
    return StepRecord();
  }
  void* addr = mmap(nullptr, size + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) {
    problem = std::string("unusable record descriptor (mmap: ") + std::strerror(errno) + ")";
    return StepRecord();
  }
  auto mapping = std::make_shared<Mapping>(addr, size + 1);
#ifdef MADV_POPULATE_READ
  // The memfd's pages mapped in one call (read-only until written, so only a
  // page the validator rewrites is copied), not a fault at a time while the
  // validator walks them. Best effort: faults do the same, slower.
  (void)madvise(addr, size + 1, MADV_POPULATE_READ);
#endif
  char* data = static_cast<char*>(addr);
  if (data[size] != '\0') {
    problem = "unusable record descriptor (the text is not followed by a NUL)";
    return StepRecord();
  }
  return from_scanned(std::move(mapping), data, size, problem);
}

StepRecord StepRecord::from_file(const std::string& path, size_t size, nlohmann::json skeleton,
                                 std::string& problem) {
  problem.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    problem = "record file " + path + " unreadable (" + std::strerror(errno) + ")";
    return StepRecord();
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != uint64_t{size} + 1 ||
      size == 0 || !skeleton.is_object()) {
    ::close(fd);
    problem = "record file " + path + " is not the " + std::to_string(size) + " bytes its agent announced";
    return StepRecord();
  }
  // Read only where something reads the record (a reference, an
  // expectation): the pages are in the page cache, the agent just wrote them.
  void* addr = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (addr == MAP_FAILED) {
    problem = std::string("record file " + path + " unusable (mmap: ") + std::strerror(errno) + ")";
    return StepRecord();
  }
  StepRecord r;
  r.owner_ = std::make_shared<Mapping>(addr, size);
  r.text_ = std::string_view(static_cast<const char*>(addr), size);
  r.top_ = std::move(skeleton);
  r.file_ = path;
  return r;
}

StepRecord StepRecord::from_scanned(std::shared_ptr<const void> owner, char* data, size_t size,
                                    std::string& problem) {
  problem.clear();
  const std::string_view text(data, size);
  nlohmann::json skeleton;
  const JsonRoot root = scan_json(data, size, &skeleton);  // line breaks become spaces
  if (root == JsonRoot::kInvalid) {
    problem = "not JSON";
    return StepRecord(nlohmann::json{{"invalid_json", std::string(text.substr(0, 4096))}});
  }
  if (root != JsonRoot::kObject) {
    auto value = nlohmann::json::parse(text);
    problem = std::string("not a JSON object (") + kind_name(value.type()) + ")";
    return StepRecord(std::move(value));
  }
  StepRecord r;
  r.top_ = std::move(skeleton);
  r.owner_ = std::move(owner);
  r.text_ = text;
  return r;
}

nlohmann::json StepRecord::tree() const {
  if (owner_ != nullptr) {
    return nlohmann::json::parse(text_);
  }
  return top_;
}

nlohmann::json StepRecord::tree(const RecordFilter& keep) const {
  if (owner_ == nullptr || keep.whole) {
    return tree();
  }
  FilteredBuilder builder(keep);
  nlohmann::json::sax_parse(text_, &builder);  // validated in from_text
  return std::move(builder.result());
}

nlohmann::json& StepRecord::edit() {
  if (owner_ != nullptr) {
    top_ = nlohmann::json::parse(text_);
    owner_.reset();
    text_ = {};
    file_.clear();  // the file no longer says what the record does
  }
  return top_;
}

void StepRecord::write_json(JsonOut& out, int indent, int level) const {
  if (owner_ != nullptr) {
    if (indent < 0 || text_.size() > kRelayoutLimit) {
      out.write(text_);  // one line already (from_text); compactness is cosmetic
    } else {
      write_indented(out, text_, indent, level);
    }
    return;
  }
  sonda::write_json(out, top_, indent, level);
}

}  // namespace sonda
