#include "netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>
#include <unordered_set>

#include "containers.hpp"
#include "sonda_common/net.hpp"

namespace sonda::proc_scanner {

std::vector<NetnsTarget> list_netns(const std::vector<std::pair<uint64_t, int>>& netns_pids,
                                    uint64_t own_inode, const std::string& run_netns_dir) {
  std::vector<NetnsTarget> targets;
  std::unordered_set<uint64_t> seen{own_inode};
  if (DIR* dir = ::opendir(run_netns_dir.c_str())) {
    while (const dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') {
        continue;
      }
      NetnsTarget t;
      t.path = run_netns_dir + "/" + e->d_name;
      t.name = e->d_name;
      struct stat st {};
      // A name whose bind mount is gone is a plain empty file on tmpfs; the
      // nsfs device check in setns() will reject it later.
      if (::stat(t.path.c_str(), &st) != 0) {
        continue;
      }
      t.inode = st.st_ino;
      if (seen.insert(t.inode).second) {
        targets.push_back(std::move(t));
      }
    }
    ::closedir(dir);
  }
  for (const auto& [inode, pid] : netns_pids) {
    if (!seen.insert(inode).second) {
      for (NetnsTarget& t : targets) {
        if (t.inode == inode && t.pid == 0) {
          t.pid = pid;
        }
      }
      continue;
    }
    NetnsTarget t;
    t.inode = inode;
    t.pid = pid;
    t.path = "/proc/" + std::to_string(pid) + "/ns/net";
    targets.push_back(std::move(t));
  }
  return targets;
}

void name_netns_targets(std::vector<NetnsTarget>& targets, const ContainerDirectory& directory) {
  for (const std::string& dir_path : directory.netns_dirs()) {
    DIR* dir = ::opendir(dir_path.c_str());
    if (dir == nullptr) {
      continue;
    }
    while (const dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') {
        continue;
      }
      const std::string path = dir_path + "/" + e->d_name;
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        continue;
      }
      for (NetnsTarget& t : targets) {
        if (t.inode == st.st_ino) {
          t.docker_path = path;
        }
      }
    }
    ::closedir(dir);
  }
  for (NetnsTarget& t : targets) {
    std::string joined;
    for (const auto& c : directory.in_netns(t.inode)) {
      t.containers.push_back(container_label(*c));
      t.container_ids.push_back(c->id);
      joined += (joined.empty() ? "" : "+") + (c->name.empty() ? c->id.substr(0, 12) : c->name);
    }
    if (t.name.empty() && !joined.empty()) {
      t.name = joined;
    }
  }
}

std::vector<NetnsDump> dump_other_netns(const std::vector<NetnsTarget>& targets, bool want_tcp,
                                        bool want_udp, bool force_procfs,
                                        SocketList& out,
                                        std::vector<UnixSocketEntry>* unix_out,
                                        std::vector<BoundInterface>* interfaces) {
  std::vector<NetnsDump> dumps;
  dumps.reserve(targets.size());
  if (targets.empty()) {
    return dumps;
  }
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      for (const NetnsTarget& t : targets) {
        NetnsDump d;
        d.target = t;
        common::Fd ns(::open(t.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns) {
          d.error = common::errno_text("open()", errno) + " on " + t.path;
        } else if (::setns(ns.get(), CLONE_NEWNET) != 0) {
          d.error = common::errno_text("setns(CLONE_NEWNET)", errno) + " on " + t.path;
        } else {
          const size_t before = out.size();
          const size_t unix_before = unix_out != nullptr ? unix_out->size() : 0;
          std::string fallback_reason;
          try {
            collect_inet_sockets(t.inode, want_tcp, want_udp, force_procfs, out, d.source,
                                 fallback_reason);
            if (interfaces != nullptr) {
              name_bound_interfaces(out, before, *interfaces);  // this namespace's names
            }
            if (unix_out != nullptr) {
              dump_unix_sockets(t.inode, *unix_out);
            }
          } catch (const std::exception& e) {
            d.error = e.what();
          }
          d.sockets = out.size() - before +
                      (unix_out != nullptr ? unix_out->size() - unix_before : 0);
        }
        dumps.push_back(std::move(d));
      }
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) {
    std::rethrow_exception(failure);
  }
  return dumps;
}

}  // namespace sonda::proc_scanner
