// Builds YamlNode trees from yaml-cpp parser events.
#include "yaml_doc.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>
#include <unordered_set>

namespace sonda::scenario {
namespace {

constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxNodes = 100'000;

/// A problem found while building the tree; turned into a Diagnostic.
struct BuildError {
  YAML::Mark mark;
  std::string message;
};

size_t count_nodes(const YamlNode& node) {
  size_t n = 1;
  for (const auto& item : node.items) {
    n += count_nodes(item);
  }
  for (const auto& entry : node.entries) {
    n += count_nodes(entry.key) + count_nodes(entry.value);
  }
  return n;
}

class TreeBuilder : public YAML::EventHandler {
 public:
  explicit TreeBuilder(std::string file) : file_(std::move(file)) {}

  bool has_root() const { return has_root_; }
  YamlNode take_root() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YamlNode node;
    node.mark = to_mark(mark);
    add(std::move(node), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw BuildError{mark, "alias refers to an anchor that encloses it"};
    }
    node_count_ += count_nodes(it->second);
    if (node_count_ > kMaxNodes) {
      throw BuildError{mark, "aliases expand to more than 100000 nodes"};
    }
    add(it->second, 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YamlNode node;
    node.kind = YamlNode::Kind::kScalar;
    node.mark = to_mark(mark);
    node.scalar = value;
    // yaml-cpp tags quoted (non-plain) scalars "!" and plain ones "?".
    node.plain = tag != "!";
    add(std::move(node), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, YamlNode::Kind::kSequence, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, YamlNode::Kind::kMap, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    YamlNode node;
    YAML::anchor_t anchor = 0;
    bool has_key = false;
    YamlNode key;
  };

  SourceMark to_mark(const YAML::Mark& m) const {
    return SourceMark{file_, m.line + 1, m.column + 1};
  }

  void open(const YAML::Mark& mark, YamlNode::Kind kind, YAML::anchor_t anchor) {
    if (stack_.size() >= kMaxDepth) {
      throw BuildError{mark, "nesting deeper than 64 levels"};
    }
    Frame frame;
    frame.node.kind = kind;
    frame.node.mark = to_mark(mark);
    frame.anchor = anchor;
    stack_.push_back(std::move(frame));
  }

  void close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    add(std::move(frame.node), frame.anchor);
  }

  void add(YamlNode node, YAML::anchor_t anchor) {
    if (++node_count_ > kMaxNodes) {
      throw BuildError{YAML::Mark(), "document has more than 100000 nodes"};
    }
    if (anchor != 0) {
      anchors_[anchor] = node;
    }
    if (stack_.empty()) {
      root_ = std::move(node);
      has_root_ = true;
      return;
    }
    Frame& top = stack_.back();
    if (top.node.kind == YamlNode::Kind::kSequence) {
      top.node.items.push_back(std::move(node));
    } else if (!top.has_key) {
      top.key = std::move(node);
      top.has_key = true;
    } else {
      top.node.entries.push_back(YamlEntry{std::move(top.key), std::move(node)});
      top.has_key = false;
    }
  }

  std::string file_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, YamlNode> anchors_;
  size_t node_count_ = 0;
  YamlNode root_;
  bool has_root_ = false;
};

[[noreturn]] void throw_at(const std::string& file, const YAML::Mark& mark,
                           const std::string& message) {
  SourceMark where{file, mark.is_null() ? 0 : mark.line + 1, mark.is_null() ? 0 : mark.column + 1};
  throw ScenarioError({Diagnostic{where, message}});
}

/// Skips an optional sign; returns the index of the first digit.
size_t after_sign(const std::string& s) { return !s.empty() && (s[0] == '-' || s[0] == '+'); }

size_t count_digits(const std::string& s, size_t& i) {
  const size_t start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    ++i;
  }
  return i - start;
}

/// YAML 1.2 core schema integer: [-+]?[0-9]+ (hand-written: std::regex
/// dominated validation time).
bool is_int(const std::string& s) {
  size_t i = after_sign(s);
  return count_digits(s, i) > 0 && i == s.size();
}

/// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_float(const std::string& s) {
  size_t i = after_sign(s);
  size_t digits = count_digits(s, i);
  if (i < s.size() && s[i] == '.') {
    ++i;
    digits += count_digits(s, i);
  }
  if (digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      ++i;
    }
    if (count_digits(s, i) == 0) {
      return false;
    }
  }
  return i == s.size();
}

}  // namespace

const YamlEntry* YamlNode::find(std::string_view key) const {
  for (const auto& entry : entries) {
    if (entry.key.is_scalar() && entry.key.scalar == key) {
      return &entry;
    }
  }
  return nullptr;
}

YamlEntry* YamlNode::find(std::string_view key) {
  return const_cast<YamlEntry*>(std::as_const(*this).find(key));
}

size_t invalid_utf8_offset(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t code_point = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      code_point = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code_point = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code_point = c & 0x07;
    } else {
      return i;
    }
    if (i + length > text.size()) {
      return i;
    }
    for (size_t k = 1; k < length; ++k) {
      const auto cont = static_cast<unsigned char>(text[i + k]);
      if ((cont & 0xC0) != 0x80) {
        return i;
      }
      code_point = (code_point << 6) | (cont & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kMinForLength[length] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

YamlNode parse_yaml(std::string_view text, const std::string& file) {
  if (size_t bad = invalid_utf8_offset(text); bad != std::string_view::npos) {
    const std::string_view before = text.substr(0, bad);
    const size_t line_start = before.rfind('\n');
    const int line = static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1;
    const int column =
        static_cast<int>(bad - (line_start == std::string_view::npos ? 0 : line_start + 1)) + 1;
    throw ScenarioError({Diagnostic{SourceMark{file, line, column},
                                    "not valid UTF-8 (byte " + std::to_string(bad) + ")"}});
  }
  std::istringstream in{std::string(text)};
  TreeBuilder builder(file);
  try {
    YAML::Parser parser(in);
    parser.HandleNextDocument(builder);
    if (builder.has_root()) {
      TreeBuilder second(file);
      if (parser.HandleNextDocument(second)) {
        throw_at(file, YAML::Mark(), "a scenario file holds one YAML document, found several");
      }
    }
  } catch (const YAML::Exception& e) {
    throw_at(file, e.mark, "YAML syntax error: " + e.msg);
  } catch (const BuildError& e) {
    throw_at(file, e.mark, e.message);
  }
  if (!builder.has_root()) {
    return YamlNode{YamlNode::Kind::kNull, {}, true, SourceMark{file, 1, 1}, {}, {}};
  }
  return builder.take_root();
}

void check_duplicate_keys(const YamlNode& node, std::vector<Diagnostic>& diags) {
  if (node.is_map()) {
    std::unordered_set<std::string> seen;
    for (const auto& entry : node.entries) {
      if (entry.key.is_scalar() && !seen.insert(entry.key.scalar).second) {
        const YamlEntry* first = node.find(entry.key.scalar);
        diags.push_back({entry.key.mark, "duplicate key '" + entry.key.scalar +
                                             "' (first defined at " + first->key.mark.str() +
                                             ")"});
      }
      check_duplicate_keys(entry.value, diags);
    }
  }
  for (const auto& item : node.items) {
    check_duplicate_keys(item, diags);
  }
}

nlohmann::json to_json(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return nullptr;
    case YamlNode::Kind::kScalar: {
      const std::string& s = node.scalar;
      if (!node.plain) {
        return s;
      }
      if (s == "~" || s == "null" || s == "Null" || s == "NULL") {
        return nullptr;
      }
      if (s == "true" || s == "True" || s == "TRUE") {
        return true;
      }
      if (s == "false" || s == "False" || s == "FALSE") {
        return false;
      }
      if (is_int(s)) {
        int64_t value = 0;
        const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
        auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), value);
        if (ec == std::errc() && ptr == s.data() + s.size()) {
          return value;
        }
        return s;  // out of int64 range: keep the text
      }
      if (is_float(s)) {
        double value = 0;
        auto [ptr, ec] = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(),
                                         value);
        if (ec == std::errc() && ptr == s.data() + s.size()) {
          return value;
        }
      }
      return s;
    }
    case YamlNode::Kind::kSequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node.items) {
        out.push_back(to_json(item));
      }
      return out;
    }
    case YamlNode::Kind::kMap: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& entry : node.entries) {
        // Duplicate keys are errors reported elsewhere; the first one wins,
        // matching what validation looked at.
        // A complex key (a list or map used as a key) is rendered as JSON
        // text; invalid UTF-8 inside it is replaced rather than thrown (the
        // fuzzer found that dump() throws on it).
        std::string key = entry.key.is_scalar()
                              ? entry.key.scalar
                              : to_json(entry.key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        if (!out.contains(key)) {
          out[key] = to_json(entry.value);
        }
      }
      return out;
    }
  }
  return nullptr;
}

void set_marks(YamlNode& node, const SourceMark& mark) {
  node.mark = mark;
  for (auto& item : node.items) {
    set_marks(item, mark);
  }
  for (auto& entry : node.entries) {
    set_marks(entry.key, mark);
    set_marks(entry.value, mark);
  }
}

std::string kind_name(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return "nothing";
    case YamlNode::Kind::kScalar:
      return "'" + node.scalar + "'";
    case YamlNode::Kind::kSequence:
      return "a list";
    case YamlNode::Kind::kMap:
      return "a map";
  }
  return "?";
}

}  // namespace sonda::scenario
