// A real Docker engine: containers the test makes (bridged with a TCP and a
// UDP listener, --network host, a published port) and what scan and owner
// say about them. The engine is the test's own dockerd (own data root, exec
// root, pidfile and socket under a temp dir) unless one already answers on
// /var/run/docker.sock; a machine where dockerd cannot start fails with its log.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "port_lookup.hpp"
#include "scan.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

std::string docker_client() {
  return ::access("/usr/bin/docker", X_OK) == 0 ? "/usr/bin/docker" : "docker";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

/// The engine, the image and the containers; all removed on destruction.
class DockerLab {
 public:
  DockerLab() : dir_("sonda-docker") {}
  DockerLab(const DockerLab&) = delete;
  DockerLab& operator=(const DockerLab&) = delete;

  /// Starts (or finds) the engine. Returns "" or why it could not.
  std::string start() {
    if (testing::run_command(docker_client() + " -H unix:///var/run/docker.sock version >/dev/null 2>&1")
            .exit_code == 0) {
      host_ = "unix:///var/run/docker.sock";
      image_ = "sonda-busybox:" + std::to_string(::getpid());
      return "";
    }
    own_engine_ = true;
    image_ = "busybox:lab";
    made_bridge_ = ::access("/sys/class/net/docker0", F_OK) != 0;
    const std::string& d = dir_.path();
    host_ = "unix://" + d + "/docker.sock";
    exec_root_ = d + "/exec";
    testing::run_command("/usr/sbin/dockerd --data-root " + d + "/data --exec-root " + exec_root_ +
                         " --pidfile " + d + "/dockerd.pid -H " + host_ + " >" + d +
                         "/dockerd.log 2>&1 </dev/null & echo $! >" + d + "/started.pid");
    for (int i = 0; i < 300; ++i) {
      if (testing::run_command(docker() + " version >/dev/null 2>&1").exit_code == 0) {
        return "";
      }
      ::usleep(100000);
    }
    return "dockerd did not answer on " + host_ + " within 30 s; its log:\n" +
           read_text(d + "/dockerd.log");
  }

  std::string docker() const { return docker_client() + " -H " + host_; }
  const std::string& image() const { return image_; }
  const std::string& exec_root() const { return exec_root_; }
  bool own_engine() const { return own_engine_; }

  /// Runs a docker command; returns trimmed stdout, or fails the test with its output.
  std::string must(const std::string& args) {
    const auto r = testing::run_command(docker() + " " + args + " 2>&1");
    if (r.exit_code != 0) {
      throw std::runtime_error("docker " + args + " failed: " + r.out);
    }
    return trim(r.out);
  }

  /// A busybox image from a root filesystem built here: no registry needed.
  void import_busybox() {
    const std::string root = dir_.path() + "/rootfs";
    std::string script = "set -e; mkdir -p " + root + "/bin " + root + "/tmp; cp /usr/bin/busybox " +
                         root + "/bin/busybox;";
    for (const char* applet : {"sh", "nc", "sleep", "printf", "touch", "udhcpd"}) {
      script += std::string(" ln -s busybox ") + root + "/bin/" + applet + ";";
    }
    const auto built = testing::run_command("(" + script + ") 2>&1");
    if (built.exit_code != 0) {
      throw std::runtime_error("building the busybox root filesystem: " + built.out);
    }
    const auto imported =
        testing::run_command("tar -C " + root + " -c . | " + docker() + " import - " + image_ + " 2>&1");
    if (imported.exit_code != 0) {
      throw std::runtime_error("docker import: " + imported.out);
    }
    imported_ = true;
  }

  std::string run(const std::string& args) {
    const std::string id = must("run -d " + args);
    containers_.push_back(id);
    return id.substr(id.rfind('\n') + 1);
  }

  ~DockerLab() {
    for (const std::string& id : containers_) {
      testing::run_command(docker() + " rm -f " + id + " >/dev/null 2>&1");
    }
    if (imported_) {
      testing::run_command(docker() + " rmi " + image_ + " >/dev/null 2>&1");
    }
    if (!own_engine_) {
      return;
    }
    const std::string& d = dir_.path();
    testing::run_command("kill -TERM $(cat " + d + "/started.pid) 2>/dev/null");
    for (int i = 0; i < 200 && ::access(("/proc/" + trim(read_text(d + "/started.pid"))).c_str(),
                                        F_OK) == 0;
         ++i) {
      ::usleep(100000);
    }
    // dockerd leaves its own namespace's bind mount behind; docker0 stays too.
    testing::run_command("grep -o ' " + d + "[^ ]*' /proc/mounts | sort -r | xargs -r umount -l");
    if (made_bridge_) {
      testing::run_command("ip link del docker0 2>/dev/null");
    }
  }

 private:
  testing::TempDir dir_;
  std::string host_;
  std::string exec_root_;
  std::string image_;
  bool own_engine_ = false;
  bool made_bridge_ = false;
  bool imported_ = false;
  std::vector<std::string> containers_;
};

/// A TCP port free on every address right now (busybox nc binds [::], dual
/// stack; a port free on 127.0.0.1 alone may be held elsewhere).
int free_wildcard_port() {
  const int fd = testing::bound_socket(AF_INET6, SOCK_STREAM, "::", 0);
  const int port = testing::local_port(fd);
  ::close(fd);
  return port;
}

/// The services lines of a summary that mention `needle` (the full one is long on a busy host).
std::string summary_lines_with(const json& record, const std::string& needle) {
  const std::string summary = record.value("summary", std::string());
  std::string out;
  for (size_t pos = 0; pos < summary.size();) {
    const size_t end = std::min(summary.find("; ", pos), summary.size());
    const std::string line = summary.substr(pos, end - pos);
    if (line.find(needle) != std::string::npos) {
      out += line + "\n";
    }
    pos = end + 2;
  }
  return out;
}

/// The sockets of the scan record on this port and protocol.
std::vector<json> sockets_on(const json& record, int port, const std::string& protocol) {
  std::vector<json> out;
  for (const json& s : record["sockets"]) {
    if (s["local"]["port"] == port && s["protocol"] == protocol) {
      out.push_back(s);
    }
  }
  return out;
}

const json* service_on(const json& record, int port, const std::string& protocol, uint64_t netns) {
  for (const json& s : record["services"]) {
    if (s["port"] == port && s["protocol"] == protocol && s["netns"] == netns) {
      return &s;
    }
  }
  return nullptr;
}

/// Scans (all namespaces, listeners) until `ready` holds or 10 s pass.
json scan_until(const std::function<bool(const json&)>& ready) {
  ScanOptions options;
  options.listening_only = true;
  options.all_netns = true;
  json record;
  for (int i = 0; i < 100; ++i) {
    record = run_scan(options);
    inline_owner_details(record);  // owners with their containers, from `processes`
    if (ready(record)) {
      break;
    }
    ::usleep(100000);
  }
  return record;
}

TEST(DockerLab, ScanNamesContainersNamespacesAndPublishedPorts) {
  ASSERT_EQ(::geteuid(), 0u) << "this test starts dockerd and needs root";
  DockerLab lab;
  const std::string why = lab.start();
  ASSERT_EQ(why, "") << why;
  lab.import_busybox();
  const std::string tag = std::to_string(::getpid());
  const int bridged_port = free_wildcard_port();
  const int udp_port = 67;  // busybox's one UDP server, udhcpd, in the container's namespace
  const int host_port = free_wildcard_port();
  const int published_port = free_wildcard_port();
  const std::string web = "sonda-web1-" + tag;
  const std::string hostc = "sonda-host-" + tag;
  const std::string pub = "sonda-pub-" + tag;
  const std::string web_id = lab.run(
      "--name " + web +
      " --label com.docker.compose.project=lab --label com.docker.compose.service=web " +
      lab.image() +
      " sh -c 'printf \"interface eth0\\nstart 10.9.0.10\\nend 10.9.0.20\\nlease_file "
      "/tmp/leases\\npidfile /tmp/u.pid\\n\" >/tmp/u.conf; touch /tmp/leases; udhcpd -f "
      "/tmp/u.conf & nc -ll -p " +
      std::to_string(bridged_port) + " -e true & exec sleep 600'");
  const std::string host_id =
      lab.run("--name " + hostc + " --network host " + lab.image() + " sh -c 'nc -ll -p " +
              std::to_string(host_port) + " -e true & exec sleep 600'");
  const std::string pub_id = lab.run("--name " + pub + " -p 127.0.0.1:" +
                                     std::to_string(published_port) + ":" +
                                     std::to_string(published_port) + " " + lab.image() +
                                     " sh -c 'nc -ll -p " + std::to_string(published_port) +
                                     " -e true & exec sleep 600'");
  const std::string pub_ip =
      lab.must("inspect -f '{{.NetworkSettings.IPAddress}}' " + pub_id);

  const json record = scan_until([&](const json& r) {
    return sockets_on(r, bridged_port, "tcp").size() == 1 &&
           !sockets_on(r, udp_port, "udp").empty() &&
           !sockets_on(r, host_port, "tcp").empty() &&
           sockets_on(r, published_port, "tcp").size() >= 2;
  });
  const uint64_t own_netns = record["namespaces"][0]["inode"];

  // Bridged: TCP and UDP in the container's own namespace, named after it.
  const auto tcp = sockets_on(record, bridged_port, "tcp");
  ASSERT_EQ(tcp.size(), 1u) << summary_lines_with(record, "sonda-");
  ASSERT_FALSE(tcp[0]["owners"].empty());
  const json& c = tcp[0]["owners"][0]["container"];
  EXPECT_EQ(c["runtime"], "docker");
  EXPECT_EQ(c["id"], web_id);
  EXPECT_EQ(c["name"], web);
  EXPECT_EQ(c["image"], lab.image());
  EXPECT_EQ(c["compose"], json({{"project", "lab"}, {"service", "web"}}));
  EXPECT_EQ(c["network"], "bridge");
  const uint64_t web_netns = tcp[0]["netns"];
  EXPECT_NE(web_netns, own_netns);
  std::vector<json> udp;
  for (const json& s : sockets_on(record, udp_port, "udp")) {
    if (s["netns"] == web_netns) {
      udp.push_back(s);
    }
  }
  ASSERT_EQ(udp.size(), 1u) << summary_lines_with(record, "sonda-");
  EXPECT_EQ(udp[0]["owners"][0]["process"], "udhcpd");
  EXPECT_EQ(udp[0]["owners"][0]["container"]["name"], web);
  const json* ns = nullptr;
  for (const json& n : record["namespaces"]) {
    if (n["inode"] == web_netns) {
      ns = &n;
    }
  }
  ASSERT_NE(ns, nullptr) << record["namespaces"].dump(2);
  EXPECT_EQ((*ns)["name"], web) << ns->dump(2);
  ASSERT_EQ((*ns)["containers"].size(), 1u);
  EXPECT_EQ((*ns)["containers"][0]["id"], web_id);
  if (lab.own_engine()) {
    EXPECT_EQ((*ns)["docker_path"].get<std::string>().rfind(lab.exec_root() + "/netns/", 0), 0u)
        << ns->dump(2);
  }
  const json* web_service = service_on(record, bridged_port, "tcp", web_netns);
  ASSERT_NE(web_service, nullptr);
  EXPECT_EQ((*web_service)["container"]["name"], web);
  const std::string web_label = web + " (" + lab.image() + ", compose lab/web)";
  // Each service carries its summary line (the scan's summary names the
  // first 12 only, and a CI host may have more listeners).
  EXPECT_EQ((*web_service)["summary"].get<std::string>().rfind(
                std::to_string(bridged_port) + "/tcp nc (pid ", 0),
            0u)
      << summary_lines_with(record, "sonda-");
  EXPECT_NE((*web_service)["summary"].get<std::string>().find("in container " + web_label),
            std::string::npos)
      << summary_lines_with(record, "sonda-");

  // --network host: the host's namespace, still the container's process.
  const auto host_sockets = sockets_on(record, host_port, "tcp");
  ASSERT_FALSE(host_sockets.empty()) << summary_lines_with(record, "sonda-")
                                     << lab.must("ps -a") << "\n"
                                     << lab.must("logs " + host_id);
  EXPECT_EQ(host_sockets[0]["netns"], own_netns);
  EXPECT_EQ(host_sockets[0]["owners"][0]["container"]["id"], host_id);
  EXPECT_EQ(host_sockets[0]["owners"][0]["container"]["name"], hostc);
  EXPECT_EQ(host_sockets[0]["owners"][0]["container"]["network"], "host");

  // Published: docker-proxy on 127.0.0.1 forwards to the container's address.
  const json* proxy = service_on(record, published_port, "tcp", own_netns);
  ASSERT_NE(proxy, nullptr) << summary_lines_with(record, "sonda-");
  EXPECT_EQ((*proxy)["process"], "docker-proxy");
  const json& f = (*proxy)["forwards_to"];
  EXPECT_EQ(f["via"], "docker-proxy");
  EXPECT_EQ(f["address"], pub_ip);
  EXPECT_EQ(f["port"], published_port);
  EXPECT_EQ(f["container"]["id"], pub_id);
  EXPECT_EQ(f["container"]["name"], pub);
  bool said = false;
  for (const json& e : (*proxy)["evidence"]) {
    said = said || e.get<std::string>().find("docker-proxy publishes this port for container " +
                                              pub) != std::string::npos;
  }
  EXPECT_TRUE(said) << (*proxy)["evidence"].dump(2);

  // The published port as Docker's state has it, listener or not.
  bool listed = false;
  for (const json& p : record["published"]) {
    listed = listed || (p["host_port"] == published_port && p["host"] == "127.0.0.1" &&
                        p["container"]["name"] == pub && p["address"] == pub_ip &&
                        p["port"] == published_port && p["protocol"] == "tcp");
  }
  EXPECT_TRUE(listed) << record["published"].dump(2);

  // owner: the bridged port is free here, held in the namespace named web1.
  const json answer = find_port_owner(bridged_port, "tcp");
  EXPECT_EQ(answer["found"], false);
  ASSERT_FALSE(answer["elsewhere"].empty()) << answer.dump(2);
  EXPECT_EQ(answer["elsewhere"][0]["netns_name"], web);
  EXPECT_EQ(answer["elsewhere"][0]["owners"][0]["container"]["name"], web);
  EXPECT_NE(answer["summary"].get<std::string>().find("held in network namespace " + web + " ("),
            std::string::npos)
      << answer["summary"];
  // owner of the published port: docker-proxy, and where it forwards.
  const json published = find_port_owner(published_port, "tcp");
  ASSERT_EQ(published["found"], true) << published.dump(2);
  EXPECT_EQ(published["owners"][0]["process"], "docker-proxy");
  EXPECT_EQ(published["owners"][0]["forwards_to"]["container"]["name"], pub);
  EXPECT_NE(published["summary"].get<std::string>().find("forwarding to container " + pub + " " +
                                                         pub_ip + ":"),
            std::string::npos)
      << published["summary"];
  // wait_for all_netns: the bridged container's listener counts.
  WaitSpec spec;
  spec.port = bridged_port;
  spec.all_netns = true;
  spec.timeout_ns = 5'000'000'000;
  const json waited = wait_for_port(spec, [] { return false; });
  EXPECT_EQ(waited["netns_name"], web) << waited.dump(2);
  EXPECT_EQ(waited["container"]["id"], web_id);
}

}  // namespace
}  // namespace sonda::proc_scanner
