#include "record_path.hpp"

#include <cctype>

namespace sonda::scenario {
namespace {

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

}  // namespace

bool is_valid_id(std::string_view id) {
  if (id.empty() || !is_name_start(id[0])) {
    return false;
  }
  for (char c : id) {
    if (!is_name_char(c)) {
      return false;
    }
  }
  return true;
}

std::optional<RecordPath> parse_record_path(std::string_view text, std::string* error,
                                            size_t* error_offset) {
  RecordPath path;
  path.text = std::string(text);
  size_t i = 0;
  auto fail = [&](size_t at, std::string message) -> std::optional<RecordPath> {
    *error = std::move(message);
    *error_offset = at;
    return std::nullopt;
  };
  while (true) {
    if (i >= text.size() || !is_name_start(text[i])) {
      return fail(i, "expected a name in path '" + std::string(text) + "'");
    }
    size_t start = i;
    while (i < text.size() && is_name_char(text[i])) {
      ++i;
    }
    path.segments.push_back({std::string(text.substr(start, i - start)), std::nullopt});
    while (i < text.size() && text[i] == '[') {
      size_t open = i++;
      size_t index = 0;
      size_t digits = 0;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && digits < 9) {
        index = index * 10 + static_cast<size_t>(text[i] - '0');
        ++i;
        ++digits;
      }
      if (digits == 0 || i >= text.size() || text[i] != ']') {
        return fail(open, "expected [index] with a number in path '" + std::string(text) + "'");
      }
      ++i;
      path.segments.push_back({"", index});
    }
    if (i == text.size()) {
      return path;
    }
    if (text[i] != '.') {
      return fail(i, "unexpected '" + std::string(1, text[i]) + "' in path '" +
                         std::string(text) + "'");
    }
    ++i;
  }
}

const nlohmann::json* lookup_record_path(const nlohmann::json& records, const RecordPath& path,
                                         std::string* missing_at) {
  const nlohmann::json* cur = &records;
  std::string walked;
  for (const auto& seg : path.segments) {
    if (seg.index) {
      walked += "[" + std::to_string(*seg.index) + "]";
      if (!cur->is_array() || *seg.index >= cur->size()) {
        *missing_at = walked;
        return nullptr;
      }
      cur = &(*cur)[*seg.index];
    } else {
      walked += (walked.empty() ? "" : ".") + seg.key;
      if (!cur->is_object()) {
        *missing_at = walked;
        return nullptr;
      }
      auto it = cur->find(seg.key);
      if (it == cur->end()) {
        *missing_at = walked;
        return nullptr;
      }
      cur = &*it;
    }
  }
  return cur;
}

}  // namespace sonda::scenario
