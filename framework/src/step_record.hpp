// A step's record as the host keeps it. A plugin hands its record over as
// JSON text (abi.h set_result); for a large record (a 19 000-socket scan is
// ~9 MB) building a tree costs ~10x the text in memory and most of the run's
// time, and nothing may ever look inside it. So the text is validated once
// and kept; the tree is built only when something needs it (a `${ref}`, an
// `expect:`, a `report:`, a host-added field), and the result files splice
// the text in as it is.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "json_out.hpp"

namespace sonda {

/// The parts of a record something reads, as a trie of the paths into it
/// (`sockets[3].local`): a `whole` node keeps its entire subtree.
struct RecordFilter {
  bool whole = false;
  std::map<std::string, RecordFilter, std::less<>> keys;
  std::map<size_t, RecordFilter> indexes;
};

/// A step record: always a JSON object. Either a tree (host-built, or edited
/// by the host) or a plugin's validated text plus its top-level scalar
/// members. Copies share the text, so copying is cheap in text form.
/// Const members are safe from several threads.
class StepRecord {
 public:
  /// An empty object.
  StepRecord() = default;
  /// A host-built record; a non-object is wrapped as {"value": v}.
  explicit StepRecord(nlohmann::json tree);

  /// A plugin's record text. Not JSON: {"invalid_json": text}; JSON but not
  /// an object: {"value": v}; otherwise kept as text (newlines, which can
  /// only be layout, become spaces so it splices into a JSON line).
  static StepRecord from_text(std::string_view text);
  /// The same, taking the text over (no copy), and saying in `problem`
  /// ("not JSON", "not a JSON object (an array)") why a record is not an
  /// object; `problem` is cleared for a good one.
  static StepRecord from_text(std::string&& text, std::string& problem);
  /// The same, for a record handed over as a memfd (a local agent's large
  /// record): `size` bytes of text and a NUL, sealed against writing and
  /// shrinking. Mapped, not copied: the text stays in the memfd's pages.
  /// A descriptor that is not that gives an empty record and a `problem`.
  static StepRecord from_memfd(int fd, size_t size, std::string& problem);

  /// A record a local agent wrote to `path` itself and checked (agent
  /// protocol, "file" records): `size` bytes of one JSON object and a
  /// newline, whose skeleton came with the message. Mapped, not read or
  /// checked again. A file that is missing or not that size gives an empty
  /// record and a `problem`.
  static StepRecord from_file(const std::string& path, size_t size, nlohmann::json skeleton,
                              std::string& problem);
  /// The file that holds the record when an agent wrote it (from_file);
  /// "" otherwise, and again once the record is edited.
  const std::string& file() const { return file_; }
  /// True while the record is the plugin's text, unparsed.
  bool is_text() const { return owner_ != nullptr; }
  /// That text, validated (one JSON object); empty in tree form.
  std::string_view text() const { return text_; }
  /// Text form: the record's skeleton, every member except arrays (objects
  /// with their members; enough for `summary` and headline figures). Tree
  /// form: every member.
  const nlohmann::json& top() const { return top_; }
  /// The whole record as a tree: parsed from the text (each call parses
  /// again: keep the result), or a copy of the tree.
  nlohmann::json tree() const;
  /// Only the parts `keep` names, parsed from the text without building the
  /// rest: other members are left out, other array elements become null (so
  /// indexes still point where they did). Every path in `keep` finds what it
  /// would find in tree(). Tree form: a copy of the tree.
  nlohmann::json tree(const RecordFilter& keep) const;
  /// The tree for changing it; text form is parsed first and then dropped.
  nlohmann::json& edit();

  /// Text records larger than this are written as they came, on one line,
  /// even into an indented file: nobody reads 8 MB of sockets by eye, and
  /// re-laying them out cost as much as taking the scan (`jq .` lays them out).
  static constexpr size_t kRelayoutLimit = size_t{1} << 20;

  /// Writes the record like tree().dump(indent) would. Text form, compact
  /// or larger than kRelayoutLimit: the text verbatim; otherwise pretty: the
  /// text re-indented (keys in the plugin's order, numbers as written).
  void write_json(JsonOut& out, int indent, int level) const;

  /// Same JSON value.
  friend bool operator==(const StepRecord& a, const StepRecord& b) { return a.tree() == b.tree(); }

 private:
  /// Validated text of `size` bytes at `data` (data[size] == 0), kept alive
  /// by `owner`, becomes a record (or a problem).
  static StepRecord from_scanned(std::shared_ptr<const void> owner, char* data, size_t size,
                                 std::string& problem);

  std::shared_ptr<const void> owner_;  ///< holds text_'s bytes; null in tree form
  std::string_view text_;
  nlohmann::json top_ = nlohmann::json::object();
  std::string file_;
};

}  // namespace sonda
