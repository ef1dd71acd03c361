// The container runtimes' state files as proc_scanner reads them: Docker's
// config.v2.json (written here in the shape Docker 20.10 writes), podman's
// containers.json, dockerd's and docker-proxy's command lines.
#include <gtest/gtest.h>

#include <fstream>

#include "containers.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

const std::string kId(64, 'a');

json docker_config(const std::string& id, const std::string& name, int pid) {
  return {{"ID", id},
          {"Name", "/" + name},
          {"Image", "sha256:" + std::string(64, 'f')},
          {"State", {{"Running", pid != 0}, {"Pid", pid}}},
          {"Config",
           {{"Image", "registry.local/app:1.2"},
            {"Labels",
             {{"io.kubernetes.pod.name", "shop-7d9"},
              {"io.kubernetes.pod.namespace", "prod"},
              {"io.kubernetes.container.name", "cart"}}}}},
          {"NetworkSettings",
           {{"SandboxKey", "/var/run/docker/netns/0123456789ab"},
            {"Ports",
             {{"80/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", "8080"}}}},
              {"53/udp", {{{"HostIp", ""}, {"HostPort", "5353"}}}},
              {"9000/tcp", nullptr}}},
            {"Networks",
             {{"bridge", {{"IPAddress", "172.17.0.9"}, {"GlobalIPv6Address", "fd00::9"}}}}}}}};
}

TEST(DockerConfig, ReadsNameImageLabelsAndAddresses) {
  const auto c = parse_docker_config(docker_config(kId, "cart", 42).dump());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->id, kId);
  EXPECT_EQ(c->name, "cart");
  EXPECT_EQ(c->image, "registry.local/app:1.2");
  EXPECT_EQ(c->k8s_pod, "shop-7d9");
  EXPECT_EQ(c->k8s_namespace, "prod");
  EXPECT_EQ(c->k8s_container, "cart");
  EXPECT_EQ(c->network_mode, "bridge");
  EXPECT_EQ(c->addresses, (std::vector<std::string>{"172.17.0.9", "fd00::9"}));
  EXPECT_EQ(c->pid, 42);
  ASSERT_EQ(c->published.size(), 2u);  // 9000/tcp is exposed, not published
  EXPECT_EQ(c->published[0].protocol, "udp");
  EXPECT_EQ(c->published[0].host_port, 5353);
  EXPECT_EQ(c->published[0].container_port, 53);
  EXPECT_EQ(c->published[1].host_address, "127.0.0.1");
  EXPECT_EQ(c->published[1].host_port, 8080);
  EXPECT_EQ(container_label(*c), "cart (registry.local/app:1.2, pod prod/shop-7d9)");
  const json j = container_json(*c);
  EXPECT_EQ(j["kubernetes"], json({{"pod", "shop-7d9"}, {"namespace", "prod"}, {"container", "cart"}}));
  EXPECT_FALSE(j.contains("compose"));
}

TEST(DockerConfig, RejectsWhatIsNotAContainerConfig) {
  EXPECT_EQ(parse_docker_config("{\"not\": 1}"), nullptr);
  EXPECT_EQ(parse_docker_config("{trunc"), nullptr);
  EXPECT_EQ(parse_docker_config(""), nullptr);
}

TEST(DockerRoots, FromDockerdCommandLines) {
  const DockerRoots plain = docker_roots_from_cmdline("/usr/sbin/dockerd -H fd://");
  EXPECT_EQ(plain.data_root, "/var/lib/docker");
  EXPECT_EQ(plain.exec_root, "/var/run/docker");
  const DockerRoots own =
      docker_roots_from_cmdline("dockerd --data-root /tmp/d/data --exec-root=/tmp/d/exec -H x");
  EXPECT_EQ(own.data_root, "/tmp/d/data");
  EXPECT_EQ(own.exec_root, "/tmp/d/exec");
  EXPECT_EQ(docker_roots_from_cmdline("dockerd -g /srv/docker").data_root, "/srv/docker");
}

TEST(ContainerDirectory, LoadsDockerAndPodmanStateAndFindsByIdPrefixAndAddress) {
  testing::TempDir dir("sonda-containers");
  const std::string docker_dir = dir.path() + "/docker/containers/" + kId;
  const std::string podman_dir = dir.path() + "/podman/overlay-containers";
  testing::run_command("mkdir -p " + docker_dir + " " + podman_dir);
  std::ofstream(docker_dir + "/config.v2.json") << docker_config(kId, "cart", 42).dump();
  const std::string podman_id(64, 'b');
  std::ofstream(podman_dir + "/containers.json")
      << json::array({{{"id", podman_id},
                       {"names", {"db"}},
                       {"image", std::string(64, 'c')},
                       {"metadata", json({{"image-name", "docker.io/library/postgres:16"}}).dump()}}})
             .dump();
  const ContainerDirectory d =
      ContainerDirectory::load({DockerRoots{dir.path() + "/docker", dir.path() + "/exec"}},
                               dir.path() + "/podman");
  EXPECT_EQ(d.size(), 2u);
  ASSERT_NE(d.find(kId.substr(0, 12)), nullptr);
  EXPECT_EQ(d.find(kId.substr(0, 12))->name, "cart");
  EXPECT_EQ(d.find("aaaa"), nullptr);  // too short to be an id prefix
  ASSERT_NE(d.find_by_address("172.17.0.9"), nullptr);
  EXPECT_EQ(d.find_by_address("172.17.0.10"), nullptr);
  const auto db = d.find(podman_id);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->runtime, "podman");
  EXPECT_EQ(db->name, "db");
  EXPECT_EQ(db->image, "docker.io/library/postgres:16");
  const json published = published_json(d);
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0], json({{"host", "0.0.0.0"},
                                {"host_port", 5353},
                                {"protocol", "udp"},
                                {"container", {{"id", kId}, {"name", "cart"}}},
                                {"address", "172.17.0.9"},
                                {"port", 53}}));
  EXPECT_EQ(published[1]["host"], "127.0.0.1");
  // Its SandboxKey does not exist here: no namespace is claimed for it.
  EXPECT_EQ(d.find(kId)->netns_inode, 0u);
}

TEST(DockerProxy, ForwardFromItsCommandLine) {
  ContainerDirectory empty;
  ProcessInfo p;
  p.comm = "docker-proxy";
  p.cmdline =
      "/usr/sbin/docker-proxy -proto udp -host-ip 0.0.0.0 -host-port 5353 -container-ip "
      "172.17.0.4 -container-port 53";
  const auto f = docker_proxy_forward(p, empty);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->protocol, "udp");
  EXPECT_EQ(f->address, "172.17.0.4");
  EXPECT_EQ(f->port, 53);
  EXPECT_EQ(f->via, "docker-proxy");
  EXPECT_EQ(f->container, nullptr);
  p.cmdline = "/usr/sbin/docker-proxy -proto tcp";
  EXPECT_FALSE(docker_proxy_forward(p, empty).has_value());
  p.comm = "nc";
  EXPECT_FALSE(docker_proxy_forward(p, empty).has_value());
}

}  // namespace
}  // namespace sonda::proc_scanner
