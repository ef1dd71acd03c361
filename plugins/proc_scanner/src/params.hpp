// The proc_scanner actions' parameters: one table per action that is the
// schema the host validates (describe, README) and the binder that fills the
// struct (sonda/params.hpp). ScanOptions::from (scan.cpp) turns the bound
// scan parameters into the scan's working options.
#pragma once

#include <cstdint>
#include <optional>
#include <sonda/plugin.hpp>
#include <string>
#include <vector>

#include "port_lookup.hpp"

namespace sonda::proc_scanner {

/// `scan` as the user wrote it (see ScanOptions for what the scan uses).
struct ScanParams {
  std::string protocol;             ///< tcp | udp | all
  std::vector<std::string> states;  ///< as written (ss spellings too); empty = all
  bool listening = false;
  std::optional<int> port;
  std::optional<int> pid;
  std::optional<std::string> process;
  bool all_netns = false;
  bool owners = false;
  bool identify = false;
  std::vector<std::string> catalogs;
  std::vector<int> banner_ports;
  bool banner_http = false;
  int64_t banner_timeout_ns = 0;
  std::string source;  ///< auto | sock_diag | procfs
  bool unix_sockets = false;
  std::string owner_source;  ///< auto | bpf | procfs
};

/// `owner`.
struct OwnerParams {
  int port = 0;
  std::string protocol;
  bool all_netns = false;
};

inline constexpr auto kScanParams = sonda::params<ScanParams>(
    sonda::param<&ScanParams::protocol>({.name = "protocol", .type = SONDA_PARAM_STRING, .default_value = "all",
                                         .choices = "tcp|udp|all", .doc = "which transport's sockets to list"}),
    sonda::param<&ScanParams::states>(
        {.name = "state", .type = SONDA_PARAM_STRING_LIST,
         .doc = "only these states (LISTEN, ESTABLISHED, TIME_WAIT, UNCONN, ...; ss spellings too)"}),
    sonda::param<&ScanParams::listening>({.name = "listening", .type = SONDA_PARAM_BOOL, .default_value = "false",
                                          .doc = "only TCP listeners and unconnected bound UDP sockets"}),
    sonda::param<&ScanParams::port>({.name = "port", .type = SONDA_PARAM_INT, .min = 1, .max = 65535,
                                     .doc = "only sockets with this local or remote port"}),
    sonda::param<&ScanParams::pid>({.name = "pid", .type = SONDA_PARAM_INT, .min = 1, .max = 4194304,
                                    .doc = "only sockets this process holds (a kernel thread gets a note)"}),
    sonda::param<&ScanParams::process>(
        {.name = "process", .type = SONDA_PARAM_STRING,
         .doc = "only sockets held by processes of this name (comm, as ps shows it)"}),
    sonda::param<&ScanParams::all_netns>(
        {.name = "all_netns", .type = SONDA_PARAM_BOOL, .default_value = "false",
         .doc = "also scan every other network namespace (/run/netns and those of processes)"}),
    sonda::param<&ScanParams::owners>({.name = "owners", .type = SONDA_PARAM_BOOL, .default_value = "true",
                                       .doc = "find owning processes by walking /proc/*/fd"}),
    sonda::param<&ScanParams::identify>({.name = "identify", .type = SONDA_PARAM_BOOL, .default_value = "true",
                                         .doc = "name the application behind each listening socket"}),
    sonda::param<&ScanParams::catalogs>(
        {.name = "catalog", .type = SONDA_PARAM_STRING_LIST,
         .doc = "extra application catalog YAML files (take precedence over the shipped one)"}),
    sonda::param<&ScanParams::banner_ports>(
        {.name = "banner_ports", .type = SONDA_PARAM_INT_LIST,
         .doc = "read a banner from this host's TCP listeners on these ports (opt-in)"}),
    sonda::param<&ScanParams::banner_http>(
        {.name = "banner_http", .type = SONDA_PARAM_BOOL, .default_value = "false",
         .doc = "when a banner port says nothing, send one HTTP HEAD and read Server:"}),
    sonda::param<&ScanParams::banner_timeout_ns>({.name = "banner_timeout", .type = SONDA_PARAM_DURATION,
                                                  .default_value = "300ms", .min = 1e6, .max = 5e9, .unit = "ns",
                                                  .doc = "per-port connect+read budget"}),
    sonda::param<&ScanParams::source>(
        {.name = "source", .type = SONDA_PARAM_STRING, .default_value = "auto", .choices = "auto|sock_diag|procfs",
         .doc = "socket table source; auto = sock_diag, /proc/net only if that fails"}),
    sonda::param<&ScanParams::unix_sockets>(
        {.name = "unix", .type = SONDA_PARAM_BOOL, .default_value = "false",
         .doc = "also list UNIX domain sockets (unix_sockets: path, type, peer, owners); filters apply, except "
                "port"}),
    sonda::param<&ScanParams::owner_source>(
        {.name = "owner_source", .type = SONDA_PARAM_STRING, .default_value = "auto", .choices = "auto|bpf|procfs",
         .doc = "owner lookup; auto = BPF task iterators (root), else one readlink per /proc/*/fd; bpf fails the "
                "step without BPF"}));

inline constexpr auto kOwnerParams = sonda::params<OwnerParams>(
    sonda::param<&OwnerParams::port>({.name = "port", .type = SONDA_PARAM_INT, .required = 1, .min = 1,
                                      .max = 65535, .doc = "local port to look up"}),
    sonda::param<&OwnerParams::protocol>({.name = "protocol", .type = SONDA_PARAM_STRING, .default_value = "tcp",
                                          .choices = "tcp|udp", .doc = "transport of the port"}),
    sonda::param<&OwnerParams::all_netns>(
        {.name = "all_netns", .type = SONDA_PARAM_BOOL, .default_value = "false",
         .doc = "also list holders in every other network namespace (a port free here is looked up there "
                "anyway)"}));

inline constexpr auto kWaitParams = sonda::params<WaitSpec>(
    sonda::param<&WaitSpec::port>({.name = "port", .type = SONDA_PARAM_INT, .required = 1, .min = 1, .max = 65535,
                                   .doc = "port that must be listening"}),
    sonda::param<&WaitSpec::protocol>({.name = "protocol", .type = SONDA_PARAM_STRING, .default_value = "tcp",
                                       .choices = "tcp|udp", .doc = "transport of the port"}),
    sonda::param<&WaitSpec::pid>(
        {.name = "pid", .type = SONDA_PARAM_INT, .min = 1, .max = 4194304,
         .doc = "the listener must belong to this process or one of its descendants"}),
    sonda::param<&WaitSpec::all_netns>(
        {.name = "all_netns", .type = SONDA_PARAM_BOOL, .default_value = "false",
         .doc = "a listener in another network namespace (a container's, an ip netns one) counts too"}),
    sonda::param<&WaitSpec::timeout_ns>({.name = "timeout", .type = SONDA_PARAM_DURATION, .default_value = "10s",
                                         .min = 1e6, .max = 3.6e12, .unit = "ns",
                                         .doc = "give up (kind timeout) after this long"}),
    sonda::param<&WaitSpec::interval_ns>({.name = "interval", .type = SONDA_PARAM_DURATION,
                                          .default_value = "50ms", .min = 1e6, .max = 6e10, .unit = "ns",
                                          .doc = "time between two looks at the socket table"}));

}  // namespace sonda::proc_scanner
