// One pass over a plugin's record text: is it JSON, and what is its
// skeleton. A scan record is ~8 MB of strings inside arrays; nlohmann's SAX
// lexer validates it at ~140 MB/s, so checking it cost more than taking the
// scan. This validator goes eight bytes at a time through plain string runs
// and builds nothing but the skeleton.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sonda {

/// What the text's top-level value is.
enum class JsonRoot { kInvalid, kObject, kArray, kString, kNumber, kBoolean, kNull };

/// Validates `text` as exactly one JSON document, accepting what
/// nlohmann::json::accept() accepts (RFC 8259: UTF-8 checked in strings,
/// surrogate pairs checked in \u escapes, no comments, no trailing commas; a
/// leading UTF-8 byte-order mark is allowed), except that a NUL byte is never
/// valid (nlohmann stops reading at one and accepts what came before; spliced
/// into a result file, what follows it would corrupt the file). While it scans it rewrites the
/// layout in place so the text splices into one JSON line: line breaks
/// between tokens and a byte-order mark become spaces (a JSON string cannot
/// hold a raw line break, so no value changes).
///
/// When the root is an object, `skeleton` (if not null) receives every member
/// that is not inside an array: objects with their members at any depth,
/// scalars typed as a parse would type them, and no array at all (a member
/// whose last value is an array is absent). Duplicate keys: the last wins.
JsonRoot scan_json(std::string& text, nlohmann::json* skeleton);
/// The same over `size` bytes at `text`, which must be followed by a NUL
/// byte (text[size] == 0; a std::string's is).
JsonRoot scan_json(char* text, size_t size, nlohmann::json* skeleton);
/// The same verdict and skeleton without rewriting anything: for a text
/// that is read-only here and goes into a file of its own, where line breaks
/// and a byte-order mark may stay. text[size] must be a NUL byte.
JsonRoot check_json(const char* text, size_t size, nlohmann::json* skeleton);

/// check_json over a text that arrives in pieces (a record a plugin streams
/// while it renders it): the same verdict and skeleton, with the pieces
/// checked as they come instead of after the last one. Holds only the text
/// after the last value it has seen end (a few KiB), not the whole text.
class JsonStreamCheck {
 public:
  /// `skeleton` (may be null) is filled as check_json fills it, and is
  /// complete once finish() returned. `scan_every`: scan once this many
  /// bytes have come since the last scan (tests make it small).
  explicit JsonStreamCheck(nlohmann::json* skeleton, size_t scan_every = 64 * 1024);
  ~JsonStreamCheck();
  JsonStreamCheck(const JsonStreamCheck&) = delete;
  JsonStreamCheck& operator=(const JsonStreamCheck&) = delete;

  /// The next piece of the text. False once the text is known to be
  /// invalid (what follows cannot mend it); further pieces are ignored.
  bool feed(std::string_view piece);
  /// The text is complete: the verdict check_json gives on all of it.
  JsonRoot finish();
  /// Bytes fed so far.
  size_t bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sonda
