#include "json_scan.hpp"

#include <bit>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <locale.h>
#include <cstring>
#include <algorithm>
#include <vector>

namespace sonda {

namespace {

using json = nlohmann::json;

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;

/// Non-zero when one of the eight bytes is zero (exact as a yes/no).
constexpr uint64_t has_zero(uint64_t x) { return (x - kOnes) & ~x & kHighs; }
/// Non-zero when one of the eight bytes is below n (n <= 128; exact as a yes/no).
constexpr uint64_t has_below(uint64_t x, uint8_t n) { return (x - kOnes * n) & ~x & kHighs; }
/// Non-zero when a byte ends a plain run of a string: '"', '\\', a control
/// character or a byte of a multi-byte UTF-8 sequence.
constexpr uint64_t ends_plain_run(uint64_t v) {
  return has_zero(v ^ (kOnes * '"')) | has_zero(v ^ (kOnes * '\\')) | has_below(v, 0x20) | (v & kHighs);
}

/// Non-zero when one of the eight bytes is not an ASCII digit; the lowest
/// flag is exact (x ^ '0' turns digits into 0..9; adding 0x76 sets the high
/// bit of each byte above 9 below 0x80, and `| x` those from 0x80 on, whose
/// carry reaches only the bytes after them).
constexpr uint64_t non_digits(uint64_t v) {
  const uint64_t x = v ^ (kOnes * '0');
  return ((x + kOnes * 0x76) | x) & kHighs;
}

constexpr bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
constexpr bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

const char* as_chars(const unsigned char* p) { return reinterpret_cast<const char*>(p); }

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// The scanner. `p_` walks the text; the byte at `end_` is the string's
/// terminating NUL, which no rule accepts, so every check stops there before
/// reading further (each multi-byte check tests its bytes in order).
class Scanner {
 public:
  /// An open object or array.
  struct Frame {
    bool array;
    json* kept;  ///< the skeleton object this object fills; nullptr when not kept
  };

  /// `rewrite`: line breaks and a byte-order mark become spaces (else the
  /// text is only read).
  Scanner(char* text, size_t size, json* skeleton, bool rewrite)
      : p_(reinterpret_cast<unsigned char*>(text)), end_(p_ + size), skeleton_(skeleton), rewrite_(rewrite) {}

  /// Remember the state after each value that ends at or past `from`
  /// (and before the end of the text: a number running into the end may
  /// go on in text not seen yet), to resume from it (JsonStreamCheck).
  void snapshot_from(size_t from) { snap_from_ = from; }
  /// Where the last snapshot was taken (offset), and its open containers.
  /// `snapped()` is false when none was.
  bool snapped() const { return snapped_; }
  size_t snap_offset() const { return snap_offset_; }
  const std::vector<Frame>& snap_stack() const { return snap_stack_; }
  /// Offset of the byte the scan stopped at (where it failed, or the end).
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }

  /// Goes on from a snapshot: just after a value, inside `stack`.
  bool resume(const std::vector<Frame>& stack) {
    stack_.assign(stack.begin(), stack.end());
    depth_ = stack_.size();
    return scan_document(true);
  }

  JsonRoot run() {
    if (end_ - p_ >= 3 && p_[0] == 0xEF && p_[1] == 0xBB && p_[2] == 0xBF) {
      if (rewrite_) {
        std::memset(p_, ' ', 3);
      } else {
        p_ += 3;
      }
    }
    skip_layout();
    const JsonRoot root = root_kind(*p_);
    return scan_document(false) ? root : JsonRoot::kInvalid;
  }

  static JsonRoot root_kind_of(const char* text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text);
    if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) p += 3;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
    return root_kind(*p);
  }

 private:

  static JsonRoot root_kind(unsigned char c) {
    switch (c) {
      case '{': return JsonRoot::kObject;
      case '[': return JsonRoot::kArray;
      case '"': return JsonRoot::kString;
      case 't':
      case 'f': return JsonRoot::kBoolean;
      case 'n': return JsonRoot::kNull;
      default: return JsonRoot::kNumber;
    }
  }

  [[gnu::always_inline]] void skip_layout() {
    // Compact text (every record a plugin renders itself) has no layout at
    // all: one comparison says so before the four below.
    if (*p_ > ' ') [[likely]] {
      return;
    }
    for (;;) {
      const unsigned char c = *p_;
      if (c == ' ' || c == '\t') {
        ++p_;
      } else if (c == '\n' || c == '\r') {
        if (rewrite_) {
          *p_ = ' ';
        }
        ++p_;
      } else {
        return;
      }
    }
  }

  [[gnu::always_inline]] void push(Frame f) {
    if (depth_ == stack_.size()) {
      stack_.resize(depth_ * 2 + 16);
    }
    stack_[depth_++] = f;
  }

  /// The object a value at the current position goes into, or nullptr.
  [[gnu::always_inline]] json* parent() const {
    if (depth_ == 0) return nullptr;
    const Frame& top = stack_[depth_ - 1];
    return top.array ? nullptr : top.kept;
  }

  bool scan_document(bool resuming) {
    const unsigned char* start = nullptr;
    bool escaped = false;
    if (resuming) goto after_value;
  value:
    skip_layout();
    switch (*p_) {
      case '{': {
        ++p_;
        json* kept = nullptr;
        if (depth_ == 0) {
          if (skeleton_ != nullptr) {
            *skeleton_ = json::object();
            kept = skeleton_;
          }
        } else if (json* into = parent()) {
          json& slot = (*into)[key_];
          slot = json::object();  // a later member replaces an earlier one, as in a parse
          kept = &slot;
        }
        push({false, kept});
        skip_layout();
        if (*p_ == '}') {
          ++p_;
          --depth_;
          goto after_value;
        }
        goto member_key;
      }
      case '[': {
        ++p_;
        if (json* into = parent()) {
          into->erase(key_);  // an array replaces an earlier member too
        }
        push({true, nullptr});
        skip_layout();
        if (*p_ == ']') {
          ++p_;
          --depth_;
          goto after_value;
        }
        goto value;
      }
      case '"':
        start = p_;
        if (!scan_string(escaped)) return false;
        if (json* into = parent()) (*into)[key_] = decode_string(start, escaped);
        goto after_value;
      case 't':
        if (!literal("true", 4)) return false;
        if (json* into = parent()) (*into)[key_] = true;
        goto after_value;
      case 'f':
        if (!literal("false", 5)) return false;
        if (json* into = parent()) (*into)[key_] = false;
        goto after_value;
      case 'n':
        if (!literal("null", 4)) return false;
        if (json* into = parent()) (*into)[key_] = nullptr;
        goto after_value;
      default:
        start = p_;
        if (!scan_number()) return false;
        if (json* into = parent()) (*into)[key_] = json::parse(as_chars(start), as_chars(p_));  // checked above
        goto after_value;
    }
  member_key:
    if (*p_ != '"') return false;
    start = p_;
    if (!scan_string(escaped)) return false;
    if (stack_[depth_ - 1].kept != nullptr) key_ = decode_string(start, escaped);
    skip_layout();
    if (*p_ != ':') return false;
    ++p_;
    goto value;
  after_value:
    if (static_cast<size_t>(p_ - begin_) >= snap_from_ && p_ != end_) {
      snapped_ = true;
      snap_offset_ = static_cast<size_t>(p_ - begin_);
      snap_stack_.assign(stack_.begin(), stack_.begin() + static_cast<std::ptrdiff_t>(depth_));
    }
    skip_layout();
    if (depth_ == 0) return p_ == end_;
    if (*p_ == ',') {
      ++p_;
      if (stack_[depth_ - 1].array) goto value;
      skip_layout();
      goto member_key;
    }
    if (*p_ == (stack_[depth_ - 1].array ? ']' : '}')) {
      ++p_;
      --depth_;
      goto after_value;
    }
    return false;
  }

  bool literal(const char* word, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }

  /// p_ at a digit: past the run of digits it starts. Eight bytes at a
  /// time, so a record's many 5- to 10-digit numbers (ports, inodes, pids)
  /// cost no mispredicted loop exit each.
  [[gnu::always_inline]] void skip_digits() {
    skip_run<non_digits>();
    while (is_digit(*p_)) {
      ++p_;
    }
  }

  /// Eight bytes at a time while eight remain before the end: p_ goes
  /// straight to the first byte `stops` flags (its lowest flag is exact;
  /// those above it may be borrows), or to where fewer than eight remain.
  /// The caller then looks at bytes one at a time from p_.
  template <uint64_t (*Stops)(uint64_t)>
  [[gnu::always_inline]] void skip_run() {
    while (end_ - p_ >= 8) {
      uint64_t v;
      std::memcpy(&v, p_, 8);
      const uint64_t stops = Stops(v);
      if (stops != 0) {
        if constexpr (std::endian::native == std::endian::little) {
          p_ += static_cast<unsigned>(std::countr_zero(stops)) / 8;
        }
        return;
      }
      p_ += 8;
    }
  }

  [[gnu::always_inline]] bool scan_number() {
    const unsigned char* start = p_;
    if (*p_ == '-') ++p_;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      skip_digits();
    } else {
      return false;
    }
    if (*p_ == '.') {
      if (!is_digit(*++p_)) return false;
      skip_digits();
    }
    bool exponent = false;
    if (*p_ == 'e' || *p_ == 'E') {
      exponent = true;
      ++p_;
      if (*p_ == '+' || *p_ == '-') ++p_;
      if (!is_digit(*p_)) return false;
      while (is_digit(*++p_)) {
      }
    }
    // Only these can exceed a double, which a parse refuses ("number
    // overflow"); an underflow is fine (it becomes 0, as in a parse).
    return (!exponent && p_ - start <= 300) || is_finite_double(start, p_);
  }

  static bool is_finite_double(const unsigned char* start, const unsigned char* end) {
    static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", nullptr);
    const std::string digits(as_chars(start), as_chars(end));
    return std::isfinite(strtod_l(digits.c_str(), nullptr, c_locale));
  }

  /// p_ at the opening quote; on success just past the closing one.
  [[gnu::always_inline]] bool scan_string(bool& escaped) {
    escaped = false;
    ++p_;
    for (;;) {
      // Straight to the first byte that ends the plain run: most strings of
      // a record are short keys, which otherwise went a byte at a time.
      skip_run<ends_plain_run>();
      const unsigned char c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        escaped = true;
        if (!scan_escape()) return false;
      } else if (c < 0x20) {
        return false;  // a raw control character, or the end of the text
      } else if (c < 0x80) {
        ++p_;
      } else if (!scan_utf8(c)) {
        return false;
      }
    }
  }

  int hex4(const unsigned char* at) const {
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = hex_value(at[i]);  // stops at the NUL past the end
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    return v;
  }

  bool scan_escape() {
    switch (p_[1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        p_ += 2;
        return true;
      case 'u': {
        const int cp = hex4(p_ + 2);
        if (cp < 0) return false;
        p_ += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // must be followed by a low surrogate
          if (p_[0] != '\\' || p_[1] != 'u') return false;
          const int low = hex4(p_ + 2);
          if (low < 0xDC00 || low > 0xDFFF) return false;
          p_ += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;  // a low surrogate alone
        }
        return true;
      }
      default:
        return false;
    }
  }

  /// RFC 3629 well-formed sequences only (no overlongs, no surrogates, <= U+10FFFF).
  bool scan_utf8(unsigned char c) {
    if (c < 0xC2) return false;
    if (c < 0xE0) {
      if (!is_continuation(p_[1])) return false;
      p_ += 2;
      return true;
    }
    if (c < 0xF0) {
      const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
      const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
      if (p_[1] < lo || p_[1] > hi || !is_continuation(p_[2])) return false;
      p_ += 3;
      return true;
    }
    if (c < 0xF5) {
      const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
      const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
      if (p_[1] < lo || p_[1] > hi || !is_continuation(p_[2]) || !is_continuation(p_[3])) return false;
      p_ += 4;
      return true;
    }
    return false;
  }

  /// The value of the string token [start, p_).
  std::string decode_string(const unsigned char* start, bool escaped) const {
    if (!escaped) return std::string(reinterpret_cast<const char*>(start) + 1, p_ - start - 2);
    return json::parse(as_chars(start), as_chars(p_)).get<std::string>();
  }

  unsigned char* p_;
  const unsigned char* const begin_ = p_;
  unsigned char* end_;
  json* skeleton_;
  bool rewrite_;
  std::vector<Frame> stack_;  ///< the first depth_ are open (grown, never shrunk: no call per value)
  size_t depth_ = 0;
  std::string key_;
  size_t snap_from_ = SIZE_MAX;
  bool snapped_ = false;
  size_t snap_offset_ = 0;
  std::vector<Frame> snap_stack_;
};

}  // namespace

JsonRoot scan_json(std::string& text, json* skeleton) { return scan_json(text.data(), text.size(), skeleton); }

namespace {

JsonRoot scan(char* text, size_t size, json* skeleton, bool rewrite) {
  Scanner scanner(text, size, skeleton, rewrite);
  const JsonRoot root = scanner.run();
  if (skeleton != nullptr && root != JsonRoot::kObject) {
    *skeleton = json::object();
  }
  return root;
}

}  // namespace

JsonRoot scan_json(char* text, size_t size, json* skeleton) { return scan(text, size, skeleton, true); }

JsonRoot check_json(const char* text, size_t size, json* skeleton) {
  // Nothing is written through the pointer when rewrite is off.
  return scan(const_cast<char*>(text), size, skeleton, false);
}

// --- JsonStreamCheck --------------------------------------------------------
//
// The text arrives in pieces; the scanner wants it whole and NUL-terminated.
// So the check keeps the text from its last resume point on, and scans it
// whenever enough has come: the scanner remembers where the last values
// near the end of what it was given ended (with the containers still open
// there), and the next scan resumes from the last of them, re-reading only
// the value that ran into the end. A rescan repeats the skeleton's
// assignments in the same order, so its skeleton is what one pass makes.
// Whether a failure is the text's fault or only its end's: the scanner looks
// at most kLookahead bytes past a token's first byte (a \uXXXX\uXXXX escape),
// so a failure that near the end of the text so far may be cured by what
// comes next, and waits for it; any other failure is final.

namespace {

constexpr size_t kLookahead = 16;
/// Values ending this near the end of the text so far are resume points.
constexpr size_t kSnapshotWindow = 1024;

}  // namespace

struct JsonStreamCheck::Impl {
  Impl(json* skeleton, size_t scan_every) : skeleton(skeleton), scan_every(std::max<size_t>(scan_every, 1)), scan_at(scan_every) {}

  json* skeleton;
  size_t scan_every;              ///< scan again once this much more text has come (or the leftover doubled)
  std::string text;               ///< from the resume point on, plus a NUL past the end
  bool started = false;           ///< a resume point exists (else: scan from the start)
  std::vector<Scanner::Frame> stack;  ///< open containers at the resume point
  JsonRoot root = JsonRoot::kInvalid;
  bool failed = false;
  size_t scan_at;                 ///< scan when text reaches this size
  size_t scanned = 0;             ///< bytes of the text handed over so far

  /// Scans the text held; false when it is invalid for good.
  bool scan(bool final) {
    if (failed) return false;
    Scanner scanner(text.data(), text.size(), skeleton, false);
    if (!final) {
      scanner.snapshot_from(text.size() > kSnapshotWindow ? text.size() - kSnapshotWindow : 0);
    }
    bool ok = false;
    if (!started) {
      const JsonRoot r = scanner.run();
      ok = r != JsonRoot::kInvalid;
      root = Scanner::root_kind_of(text.c_str());
    } else {
      ok = scanner.resume(stack);
    }
    if (final) {
      failed = !ok;
      return ok;
    }
    if (!ok && text.size() - scanner.offset() > kLookahead) {
      failed = true;
      return false;
    }
    // Valid so far, or stopped by the end: keep what follows the last
    // resume point. (An `ok` here is a complete root with only layout
    // after it; its resume point was taken after the root's last byte.)
    if (scanner.snapped()) {
      started = true;
      stack = scanner.snap_stack();
      text.erase(0, scanner.snap_offset());
    }
    scan_at = text.size() + std::max(scan_every, text.size());
    return true;
  }
};

JsonStreamCheck::JsonStreamCheck(json* skeleton, size_t scan_every)
    : impl_(std::make_unique<Impl>(skeleton, scan_every)) {
  if (skeleton != nullptr) {
    *skeleton = json::object();
  }
}

JsonStreamCheck::~JsonStreamCheck() = default;

bool JsonStreamCheck::feed(std::string_view piece) {
  Impl& s = *impl_;
  if (s.failed) return false;
  s.scanned += piece.size();
  s.text.append(piece);
  if (s.text.size() < s.scan_at) return true;
  return s.scan(false);
}

JsonRoot JsonStreamCheck::finish() {
  Impl& s = *impl_;
  const bool ok = s.scan(true);
  if (s.skeleton != nullptr && (!ok || s.root != JsonRoot::kObject)) {
    *s.skeleton = json::object();
  }
  return ok ? s.root : JsonRoot::kInvalid;
}

size_t JsonStreamCheck::bytes() const { return impl_->scanned; }

}  // namespace sonda
