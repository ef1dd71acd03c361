// Service identification: the application catalog (YAML, user-extendable)
// and the port names of /etc/services.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sonda::proc_scanner {

/// One application the catalog knows.
struct CatalogEntry {
  std::string id;                     ///< short key, e.g. "sshd"
  std::string name;                   ///< what people call it: "OpenSSH server"
  std::vector<std::string> process;   ///< comm names; a trailing '*' matches a prefix
  std::vector<std::string> exe;       ///< executable basenames (same globbing)
  std::vector<std::string> cmdline;   ///< substrings; when given, one must occur
  std::vector<std::pair<uint16_t, std::string>> ports;  ///< default (port, "tcp"|"udp")
  std::string banner;                 ///< substring expected in its banner
  std::string source;                 ///< file it came from
};

/// What one listener looks like to the matcher.
struct ServiceFacts {
  uint16_t port = 0;
  std::string protocol;  ///< "tcp" | "udp"
  std::string comm;
  std::string exe;
  std::string cmdline;
  std::string banner;
  /// The banner came from an HTTP reply (its Server: value, or the status
  /// line when there is none).
  bool banner_http = false;
};

/// The best guess for one listener.
struct Identification {
  const CatalogEntry* entry = nullptr;  ///< nullptr: nothing in the catalog fits
  std::string port_name;                ///< /etc/services name, "" if none
  std::vector<std::string> tags;        ///< catalog, cmdline, port, services, banner
  std::vector<std::string> evidence;    ///< one sentence per tag
  std::string confidence;               ///< high | medium | low | none
};

/// What a kernel thread (or a family of them) does. `pattern` is a thread
/// group name as the scan shows it ("kworker", "rcu_gp") or a prefix ending
/// in '*' ("kworker/R-*").
struct KernelThreadEntry {
  std::string pattern;
  std::string what;
  std::string source;
};

/// What the catalog makes of one process whatever its port: for each entry,
/// whether the process name or executable fits (bit 0) and whether its
/// command line holds one of the entry's patterns (bit 1). A server with
/// hundreds of listening ports is matched once, not once per port.
struct ProcessMatch {
  std::vector<uint8_t> hits;
};

/// What one catalog file adds.
struct CatalogParts {
  std::vector<CatalogEntry> entries;
  std::vector<KernelThreadEntry> kernel_threads;
};

/// Parses one catalog's YAML text; `origin` names it in errors and is the
/// entries' source. Throws std::runtime_error naming it (and the line).
CatalogParts parse_catalog(const std::string& text, const std::string& origin);

/// A loaded catalog: entries of later files (user catalogs) take precedence
/// over the shipped one when both match equally well.
class Catalog {
 public:
  /// Loads one YAML file ({applications: [...]}) and appends its entries.
  /// Throws std::runtime_error naming the file (and line) on bad input.
  /// `cached`: keep the parse for the rest of the boot and reuse it while
  /// the file's text is the same (catalog_cache.hpp); for the shipped one.
  void load_file(const std::string& path, bool cached = false);
  /// Loads YAML text; `origin` names it in errors.
  void load_text(const std::string& text, const std::string& origin);
  const std::vector<CatalogEntry>& entries() const { return entries_; }
  /// What a kernel thread group does; nullptr when no entry says. Later
  /// files (user catalogs) win.
  const KernelThreadEntry* explain_kernel_thread(const std::string& group) const;
  const std::vector<std::string>& files() const { return files_; }

  /// Matches a listener: process/exe (+cmdline when the entry asks for it),
  /// then default port, then banner; falls back to a port-only guess.
  /// `match`: match_process() of the same facts' comm, exe and cmdline.
  Identification identify(const ServiceFacts& facts, const ProcessMatch* match = nullptr) const;
  /// The port-independent part of identify() for these facts.
  ProcessMatch match_process(const ServiceFacts& facts) const;

 private:
  void append(CatalogParts&& parts);

  std::vector<CatalogEntry> entries_;
  std::vector<KernelThreadEntry> kernel_threads_;
  std::vector<std::string> files_;
};

/// The catalog shipped with the plugin: <plugin dir>/proc_scanner/apps.yaml,
/// else the installed share dir, else the source tree. "" when none exists.
std::string default_catalog_path();

/// Port name from /etc/services ("ssh" for 22/tcp), "" when unlisted.
/// The file is read once per process.
std::string service_port_name(uint16_t port, const std::string& protocol);

}  // namespace sonda::proc_scanner
